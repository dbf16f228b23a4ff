//! The core state machine fed arbitrary command sequences: agents connecting, dropping and
//! logging out, customers arriving, chatting and hanging up, every method including every
//! hand-off with and without data, CRM replies (valid, oversize, invalid, errors, none),
//! time passing, settings changing and restarts from the committed state.
//!
//! `Core::apply` checks its invariants after every command in builds with debug assertions
//! (cargo fuzz builds with them by default); this target also calls
//! `baton_core::invariants::check` itself, so it catches a broken invariant either way.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use baton_core::{
    AdminCommand, Agent, AgentId, Command, Core, CoreConfig, Effect, Integration, Interaction,
    InteractionId, Leg, Recipient, Service, SessionId, Snapshot, Tenant, TenantId, TenantSettings,
    TransferId,
};
use baton_protocol::{Channel, Customer, Method, TransferData};
use libfuzzer_sys::fuzz_target;

const TENANT: &str = "acme";
const AGENTS: usize = 4;
const KEYS: [Option<&str>; 3] = [None, Some("crm"), Some("erp")];
const DATA: &str = r#"{"caseId": "C-1042",  "amount": 1.50}"#;

#[derive(Arbitrary, Debug)]
enum Data {
    None,
    Fixed,
    Text(String),
}

impl Data {
    fn get(&self) -> Option<String> {
        match self {
            Data::None => None,
            Data::Fixed => Some(DATA.to_owned()),
            Data::Text(t) => Some(t.clone()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Req {
    State(u8),
    InteractionsState,
    TeamMembers,
    Accept(u8),
    Reject(u8),
    Switch(u8),
    Chat(u8),
    Hold(u8, bool),
    Leave(u8),
    Complete(u8),
    Note(u8),
    SetVariable(u8),
    Variables(u8),
    Blind(u8, Data, u8),
    Consult(u8),
    Transfer(Data),
    InviteCall(u8, Data, u8),
    Merge(Data),
    RemoveCall(u8, u8),
    InviteChat(u8, u8),
    RemoveChat(u8, u8),
    History(u8),
    Logout,
    Call(u8),
    OutboundChat,
    Disposition(u8),
    DestroyConference(u8),
    LeaveAndComplete(u8),
    Screen(u8),
}

#[derive(Arbitrary, Debug)]
enum Answer {
    Undefined,
    Fixed,
    Text(String),
    Big,
    Error,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Connect {
        agent: u8,
        key: u8,
    },
    Disconnect {
        agent: u8,
    },
    Call {
        agent: u8,
        call: Req,
    },
    Reply {
        agent: u8,
        which: u8,
        answer: Answer,
    },
    NewInteraction {
        chat: bool,
        service: bool,
    },
    CustomerMessage {
        pick: u8,
    },
    CustomerHangup {
        pick: u8,
    },
    Advance {
        ms: u16,
    },
    Settings {
        timeout_ms: u16,
        max_bytes: u16,
    },
    Restart,
}

/// What a store would hold after every committed change set.
#[derive(Default)]
struct Store {
    tenants: BTreeMap<TenantId, Tenant>,
    services: BTreeMap<String, Service>,
    integrations: BTreeMap<(TenantId, String), Integration>,
    agents: BTreeMap<AgentId, Agent>,
    interactions: BTreeMap<InteractionId, Interaction>,
    legs: BTreeMap<TransferId, Leg>,
    data: BTreeMap<TransferId, TransferData>,
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
        for i in c.interactions {
            self.interactions.insert(i.id.clone(), i);
        }
        for l in c.legs {
            self.legs.insert(l.id.clone(), l);
        }
        for (id, _, d) in c.leg_data {
            self.data.insert(id, d);
        }
    }

    fn snapshot(&self) -> Snapshot {
        let live: Vec<Interaction> = self
            .interactions
            .values()
            .filter(|i| i.completed_at.is_none())
            .cloned()
            .collect();
        let legs = live
            .iter()
            .flat_map(|i| i.legs.iter())
            .filter_map(|l| self.legs.get(l))
            .map(|l| {
                let mut l = l.clone();
                l.data = self.data.get(&l.id).cloned();
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

struct World {
    core: Core,
    store: Store,
    now: i64,
    next: u64,
    conn_of: [Option<u64>; AGENTS],
    /// `rid`s sent to each agent's connection, newest last.
    rids: [Vec<String>; AGENTS],
    interactions: Vec<String>,
}

const CONFIG: CoreConfig = CoreConfig {
    disconnect_grace_ms: 20_000,
    max_associated_objects: 100,
    limits: baton_core::InteractionLimits::DEFAULT,
    digest_key: [0; 32],
    max_frame_bytes: 256 * 1024,
};

impl World {
    fn new() -> Self {
        let mut w = World {
            core: Core::new(CONFIG),
            store: Store::default(),
            now: 1_700_000_000_000,
            next: 1,
            conn_of: [None; AGENTS],
            rids: Default::default(),
            interactions: Vec::new(),
        };
        w.apply(Command::Admin(AdminCommand::CreateTenant {
            id: TenantId(TENANT.into()),
            settings: TenantSettings::default(),
        }));
        for (i, name) in ["sales", "support"].iter().enumerate() {
            w.apply(Command::Admin(AdminCommand::CreateService {
                id: format!("svc-{i}").as_str().into(),
                tenant: TENANT.into(),
                name: (*name).into(),
                channels: vec![Channel::Chat, Channel::Voice],
                ring_timeout_ms: 5_000,
            }));
        }
        for key in ["crm", "erp"] {
            w.apply(Command::Admin(AdminCommand::CreateIntegration {
                tenant: TENANT.into(),
                key: key.into(),
                name: key.into(),
                allowed_origins: vec![],
            }));
        }
        for a in 0..AGENTS {
            w.apply(Command::Admin(AdminCommand::CreateAgent {
                id: AgentId(format!("a{a}")),
                tenant: TENANT.into(),
                username: format!("a{a}"),
                display_name: format!("A{a}"),
                extension: Some(format!("10{a}")),
                services: if a == 3 {
                    vec!["support".into()]
                } else {
                    vec!["sales".into(), "support".into()]
                },
                max_chats: 2,
            }));
        }
        w
    }

    fn apply(&mut self, command: Command) {
        let out = self.core.apply(command, self.now);
        if let Err(broken) = baton_core::invariants::check(&self.core) {
            panic!("invariant broken: {broken}");
        }
        self.store.commit(self.core.take_changes());
        for effect in out.effects {
            match effect {
                Effect::Send {
                    to: Recipient::Agent(conn),
                    frame,
                } => {
                    let Some(agent) = self.conn_of.iter().position(|c| *c == Some(conn)) else {
                        continue;
                    };
                    let text = frame.to_text();
                    let json: serde_json::Value =
                        serde_json::from_str(&text).expect("frames are JSON");
                    if let Some(rid) = json.get("rid").and_then(|r| r.as_str()) {
                        let list = &mut self.rids[agent];
                        list.push(rid.to_owned());
                        if list.len() > 8 {
                            list.remove(0);
                        }
                    }
                }
                Effect::Close { conn } => {
                    for c in &mut self.conn_of {
                        if *c == Some(conn) {
                            *c = None;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// An interaction id: one of those created, or one that does not exist.
    fn pick(&self, n: u8) -> Option<String> {
        match n {
            255 => None,
            254 => Some("int-nope".into()),
            n if self.interactions.is_empty() => Some(format!("int-{n}")),
            n => Some(self.interactions[n as usize % self.interactions.len()].clone()),
        }
    }

    fn target(n: u8) -> String {
        match n % 8 {
            0..=3 => format!("a{}", n % 4),
            4 => format!("10{}", (n / 8) % 4),
            5 => "service:support".into(),
            6 => "service:nope".into(),
            _ => "nobody".into(),
        }
    }

    fn method(&self, call: &Req) -> Method {
        match call {
            Req::State(s) => Method::SetAgentState {
                state: ["ready", "not_ready", "after_call_work", "busy"][*s as usize % 4].into(),
                reason: None,
            },
            Req::InteractionsState => Method::GetInteractionsState,
            Req::TeamMembers => Method::GetTeamMembers {
                team_id: "all".into(),
            },
            Req::Accept(p) => Method::AcceptInteraction { id: self.pick(*p) },
            Req::Reject(p) => Method::RejectInteraction { id: self.pick(*p) },
            Req::Switch(p) => Method::SwitchActiveInteraction {
                id: self.pick(*p).unwrap_or_default(),
            },
            Req::Chat(p) => Method::SendChatMessage {
                text: "hi".into(),
                id: self.pick(*p),
            },
            Req::Hold(p, hold) => Method::SetCallHold {
                hold: *hold,
                id: self.pick(*p),
            },
            Req::Leave(p) => Method::LeaveInteraction { id: self.pick(*p) },
            Req::Complete(p) => Method::CompleteInteraction { id: self.pick(*p) },
            Req::Note(p) => Method::AddNote {
                text: "note".into(),
                id: self.pick(*p),
            },
            Req::SetVariable(p) => Method::SetVariable {
                key: "k".into(),
                value: serde_json::json!(1),
                id: self.pick(*p),
            },
            Req::Variables(p) => Method::GetVariables {
                keys: None,
                id: self.pick(*p),
            },
            Req::Blind(t, d, p) => Method::BlindTransfer {
                target: Self::target(*t),
                data: d.get(),
                id: self.pick(*p),
            },
            Req::Consult(t) => Method::ConsultCall {
                target: Self::target(*t),
            },
            Req::Transfer(d) => Method::Transfer { data: d.get() },
            Req::InviteCall(t, d, p) => Method::InviteToCallConference {
                target: Self::target(*t),
                data: d.get(),
                id: self.pick(*p),
            },
            Req::Merge(d) => Method::MergeAllCallsIntoConference { data: d.get() },
            Req::RemoveCall(a, p) => Method::RemoveFromCallConference {
                party_id: format!("a{}", a % 4),
                id: self.pick(*p),
            },
            Req::InviteChat(a, p) => Method::InviteToChatConference {
                agent_id: Self::target(*a),
                id: self.pick(*p),
            },
            Req::RemoveChat(a, p) => Method::RemoveFromChatConference {
                party_id: format!("a{}", a % 4),
                id: self.pick(*p),
            },
            Req::History(p) => Method::GetTransferHistory { id: self.pick(*p) },
            Req::Logout => Method::Logout,
            Req::Call(t) => Method::StartCall {
                phone: match t % 3 {
                    0 => Self::target(*t),
                    1 => "+1 212 555 0000".into(),
                    _ => String::new(),
                },
                objects: Vec::new(),
            },
            Req::OutboundChat => Method::StartChat {
                channel: "web".into(),
                address: "ann@example.com".into(),
                objects: Vec::new(),
            },
            Req::Disposition(p) => Method::SetDisposition {
                disposition: "ok".into(),
                id: self.pick(*p),
            },
            Req::DestroyConference(p) => Method::DestroyCallConference { id: self.pick(*p) },
            Req::LeaveAndComplete(p) => Method::LeaveAndCompleteInteraction {
                disposition: None,
                note: Some("done".into()),
                id: self.pick(*p),
            },
            Req::Screen(p) => Method::SetInteractionActiveScreen {
                screen: serde_json::Map::new(),
                id: self.pick(*p),
            },
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Connect { agent, key } => {
                let a = agent as usize % AGENTS;
                let conn = self.next;
                self.next += 1;
                self.conn_of[a] = Some(conn);
                self.rids[a].clear();
                self.apply(Command::Connect {
                    agent: AgentId(format!("a{a}")),
                    session: SessionId(format!("s{conn}")),
                    conn,
                    integration_key: KEYS[key as usize % KEYS.len()].map(str::to_owned),
                });
            }
            Op::Disconnect { agent } => {
                if let Some(conn) = self.conn_of[agent as usize % AGENTS].take() {
                    self.apply(Command::Disconnect { conn });
                }
            }
            Op::Call { agent, call } => {
                let a = agent as usize % AGENTS;
                if let Some(conn) = self.conn_of[a] {
                    let method = self.method(&call);
                    self.apply(Command::Request { conn, method });
                }
            }
            Op::Reply {
                agent,
                which,
                answer,
            } => {
                let a = agent as usize % AGENTS;
                let Some(conn) = self.conn_of[a] else { return };
                let rid = match self.rids[a].len() {
                    0 => format!("rid-{which}"),
                    n => self.rids[a][which as usize % n].clone(),
                };
                let (value, error) = match answer {
                    Answer::Undefined => (None, None),
                    Answer::Fixed => (Some(DATA.to_owned()), None),
                    Answer::Text(t) => (Some(t), None),
                    Answer::Big => (Some(format!("\"{}\"", "x".repeat(70_000))), None),
                    Answer::Error => (None, Some("error: handler threw".to_owned())),
                };
                self.apply(Command::Reply {
                    conn,
                    rid,
                    value,
                    error,
                });
            }
            Op::NewInteraction { chat, service } => {
                let id = format!("int-{}", self.next);
                self.next += 1;
                self.interactions.push(id.clone());
                self.apply(Command::NewInteraction {
                    id: InteractionId(id.clone()),
                    tenant: TenantId(TENANT.into()),
                    channel: if chat { Channel::Chat } else { Channel::Voice },
                    service: if service { "sales" } else { "support" }.into(),
                    customer: Customer {
                        name: "Carl".into(),
                        phone: None,
                        email: None,
                    },
                    attached_data: Default::default(),
                    customer_token_hash: format!("hash-{id}"),
                });
            }
            Op::CustomerMessage { pick } => {
                if let Some(id) = self.pick(pick) {
                    self.apply(Command::CustomerMessage {
                        interaction: InteractionId(id),
                        text: "hello".into(),
                    });
                }
            }
            Op::CustomerHangup { pick } => {
                if let Some(id) = self.pick(pick) {
                    self.apply(Command::CustomerHangup {
                        interaction: InteractionId(id),
                    });
                }
            }
            Op::Advance { ms } => {
                self.now += ms as i64 * 4;
                self.apply(Command::Tick);
            }
            Op::Settings {
                timeout_ms,
                max_bytes,
            } => self.apply(Command::Admin(AdminCommand::UpdateSettings {
                tenant: TenantId(TENANT.into()),
                transfer_data_timeout_ms: Some(timeout_ms as u64),
                transfer_data_max_bytes: Some(max_bytes as usize),
                retention_secs: None,
                dtmf_log: None,
                record_calls: None,
            })),
            Op::Restart => {
                self.conn_of = [None; AGENTS];
                self.rids = Default::default();
                self.core = Core::restore(CONFIG, self.store.snapshot(), self.now);
                if let Err(broken) = baton_core::invariants::check(&self.core) {
                    panic!("invariant broken after restore: {broken}");
                }
            }
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut world = World::new();
    for op in ops.into_iter().take(256) {
        world.step(op);
    }
});
