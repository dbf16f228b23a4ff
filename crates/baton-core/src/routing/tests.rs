//! The routing index against the old full scan. Two cores get the same random commands:
//! one routes through the index, the other scans every interaction and agent as routing
//! did before (`route_all_by_scan`, the oracle). After every command both must have said
//! and changed exactly the same; for every queued interaction the index's best agent is
//! the oracle's, and its queue order is the scan's. (`apply` also checks in debug builds
//! that the whole index equals a scan, see `invariants.rs`.)

use baton_protocol::{Channel, Customer, Method, Millis};
use proptest::prelude::*;

use crate::command::{AdminCommand, Command};
use crate::engine::{Core, CoreConfig};
use crate::entity::*;
use crate::queues::Route;

const T0: Millis = 1_700_000_000_000;
const TENANTS: [&str; 2] = ["t0", "t1"];
/// Per tenant: a chat-only service and one taking calls and chats.
const SERVICES: [(&str, &[Channel]); 2] = [
    ("chat", &[Channel::Chat]),
    ("mixed", &[Channel::Chat, Channel::Voice]),
];
/// Per tenant: each agent's services (a bit mask over `SERVICES`).
const AGENTS: [u8; 3] = [0b11, 0b01, 0b10];
const RING_MS: u64 = 5_000;
const GRACE_MS: u64 = 20_000;

fn agent_id(n: usize) -> AgentId {
    AgentId(format!(
        "{}-a{}",
        TENANTS[n / AGENTS.len()],
        n % AGENTS.len()
    ))
}

fn tenant_of(n: usize) -> TenantId {
    TenantId(TENANTS[n / AGENTS.len()].into())
}

fn services(mask: u8) -> Vec<String> {
    SERVICES
        .iter()
        .enumerate()
        .filter(|(k, _)| mask & (1 << k) != 0)
        .map(|(_, (name, _))| (*name).to_owned())
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    Connect {
        agent: usize,
    },
    Disconnect {
        agent: usize,
    },
    State {
        agent: usize,
        ready: bool,
    },
    New {
        tenant: usize,
        service: usize,
        voice: bool,
    },
    Accept {
        agent: usize,
        pick: usize,
    },
    Reject {
        agent: usize,
        pick: usize,
    },
    Complete {
        agent: usize,
        pick: usize,
    },
    Leave {
        agent: usize,
        pick: usize,
    },
    Blind {
        agent: usize,
        target: usize,
        pick: usize,
    },
    Hangup {
        pick: usize,
    },
    Services {
        agent: usize,
        mask: u8,
    },
    Delete {
        agent: usize,
    },
    Tick {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 0..TENANTS.len() * AGENTS.len();
    let pick = 0usize..3;
    prop_oneof![
        3 => agent.clone().prop_map(|agent| Op::Connect { agent }),
        1 => agent.clone().prop_map(|agent| Op::Disconnect { agent }),
        4 => (agent.clone(), proptest::bool::weighted(0.7))
            .prop_map(|(agent, ready)| Op::State { agent, ready }),
        6 => (0..TENANTS.len(), 0..SERVICES.len(), any::<bool>())
            .prop_map(|(tenant, service, voice)| Op::New { tenant, service, voice }),
        5 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Accept { agent, pick }),
        2 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Reject { agent, pick }),
        3 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Complete { agent, pick }),
        1 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Leave { agent, pick }),
        1 => (agent.clone(), 0..AGENTS.len(), pick.clone())
            .prop_map(|(agent, target, pick)| Op::Blind { agent, target, pick }),
        1 => (0usize..8).prop_map(|pick| Op::Hangup { pick }),
        1 => (agent.clone(), 0u8..4).prop_map(|(agent, mask)| Op::Services { agent, mask }),
        1 => agent.clone().prop_map(|agent| Op::Delete { agent }),
        3 => prop_oneof![0..3_000u64, Just(RING_MS), Just(GRACE_MS)].prop_map(|ms| Op::Tick { ms }),
    ]
}

/// Both cores and what the test keeps of the shell's part.
struct Pair {
    index: Core,
    scan: Core,
    now: Millis,
    /// Each agent's connection, while it has one.
    conns: Vec<Option<u64>>,
    next_conn: u64,
    created: u64,
}

impl Pair {
    fn new() -> Self {
        let config = CoreConfig {
            disconnect_grace_ms: GRACE_MS,
            ..CoreConfig::default()
        };
        let mut pair = Pair {
            index: Core::new(config),
            scan: Core::new(config),
            now: T0,
            conns: vec![None; TENANTS.len() * AGENTS.len()],
            next_conn: 1,
            created: 0,
        };
        pair.scan.queues.route_by_scan = true;
        for tenant in TENANTS {
            pair.apply(Command::Admin(AdminCommand::CreateTenant {
                id: tenant.into(),
                settings: TenantSettings::default(),
            }));
            for (name, channels) in SERVICES {
                pair.apply(Command::Admin(AdminCommand::CreateService {
                    id: format!("{tenant}-{name}").as_str().into(),
                    tenant: tenant.into(),
                    name: name.into(),
                    channels: channels.to_vec(),
                    ring_timeout_ms: RING_MS,
                }));
            }
        }
        for n in 0..TENANTS.len() * AGENTS.len() {
            let id = agent_id(n);
            pair.apply(Command::Admin(AdminCommand::CreateAgent {
                id: id.clone(),
                tenant: tenant_of(n),
                username: id.0.to_uppercase(),
                display_name: id.0.clone(),
                extension: Some(format!("{}", 100 + n % AGENTS.len())),
                services: services(AGENTS[n % AGENTS.len()]),
                max_chats: 2,
            }));
        }
        pair
    }

    /// Applies one command to both cores and checks they agree.
    fn apply(&mut self, command: Command) {
        let a = self.index.apply(command.clone(), self.now);
        let b = self.scan.apply(command, self.now);
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "outputs differ");
        let (a, b) = (self.index.take_changes(), self.scan.take_changes());
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "change sets differ");
    }

    fn request(&mut self, agent: usize, method: Method) {
        if let Some(conn) = self.conns[agent] {
            self.apply(Command::Request { conn, method });
        }
    }

    /// The `pick`th interaction of an agent (cyclically), if any.
    fn pick(&self, agent: usize, pick: usize) -> Option<String> {
        let ids = self.index.agent_interaction_ids(&agent_id(agent));
        (!ids.is_empty()).then(|| ids[pick % ids.len()].0.clone())
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Connect { agent } => {
                let conn = self.next_conn;
                self.next_conn += 1;
                self.apply(Command::Connect {
                    agent: agent_id(agent),
                    session: SessionId(format!("s-{agent}")),
                    conn,
                    integration_key: None,
                });
                if self.index.agent(&agent_id(agent)).is_some() {
                    self.conns[agent] = Some(conn);
                }
            }
            Op::Disconnect { agent } => {
                if let Some(conn) = self.conns[agent].take() {
                    self.apply(Command::Disconnect { conn });
                }
            }
            Op::State { agent, ready } => {
                let state = if ready { "ready" } else { "not_ready" };
                self.request(
                    agent,
                    Method::SetAgentState {
                        state: state.into(),
                        reason: None,
                    },
                );
            }
            Op::New {
                tenant,
                service,
                voice,
            } => {
                self.created += 1;
                self.apply(Command::NewInteraction {
                    id: format!("i{}", self.created).as_str().into(),
                    tenant: TENANTS[tenant].into(),
                    channel: if voice { Channel::Voice } else { Channel::Chat },
                    service: SERVICES[service].0.into(),
                    customer: Customer {
                        name: "C".into(),
                        phone: None,
                        email: None,
                    },
                    attached_data: Default::default(),
                    customer_token_hash: format!("h{}", self.created),
                });
            }
            Op::Accept { agent, pick } => {
                let id = self.pick(agent, pick);
                self.request(agent, Method::AcceptInteraction { id });
            }
            Op::Reject { agent, pick } => {
                let id = self.pick(agent, pick);
                self.request(agent, Method::RejectInteraction { id });
            }
            Op::Complete { agent, pick } => {
                let id = self.pick(agent, pick);
                self.request(agent, Method::CompleteInteraction { id });
            }
            Op::Leave { agent, pick } => {
                let id = self.pick(agent, pick);
                self.request(agent, Method::LeaveInteraction { id });
            }
            Op::Blind {
                agent,
                target,
                pick,
            } => {
                let id = self.pick(agent, pick);
                // By username, extension or id in turn, to exercise target resolution.
                let colleague = agent_id(agent / AGENTS.len() * AGENTS.len() + target);
                let target = match pick % 3 {
                    0 => colleague.0.to_uppercase(),
                    1 => format!("{}", 100 + target),
                    _ => colleague.0,
                };
                self.request(
                    agent,
                    Method::BlindTransfer {
                        target,
                        data: None,
                        id,
                    },
                );
            }
            Op::Hangup { pick } => {
                let live: Vec<InteractionId> = self
                    .index
                    .interactions()
                    .filter(|i| i.customer_connected)
                    .map(|i| i.id.clone())
                    .collect();
                if !live.is_empty() {
                    let interaction = live[pick % live.len()].clone();
                    self.apply(Command::CustomerHangup { interaction });
                }
            }
            Op::Services { agent, mask } => self.apply(Command::Admin(AdminCommand::UpdateAgent {
                tenant: tenant_of(agent),
                agent: agent_id(agent),
                display_name: None,
                services: Some(services(mask)),
            })),
            Op::Delete { agent } => {
                self.apply(Command::Admin(AdminCommand::DeleteAgent {
                    tenant: tenant_of(agent),
                    agent: agent_id(agent),
                }));
                self.conns[agent] = None;
            }
            Op::Tick { ms } => {
                self.now += ms as Millis;
                self.apply(Command::Tick);
            }
        }
    }

    /// For every queued interaction, the index's choice is the oracle's, and each queue's
    /// order is the scan's.
    fn check_choices(&self) {
        let core = &self.index;
        let mut by_scan: std::collections::BTreeMap<Route, Vec<_>> = Default::default();
        for i in core.interactions() {
            let Some(q) = &i.queue else { continue };
            let route = Route {
                service: q.service.clone(),
                tenant: i.tenant.clone(),
                lane: i.channel.into(),
            };
            assert_eq!(
                core.queues.best_agent(&route, &i.skipped),
                core.best_agent_by_scan(&i.tenant, &q.service, i.channel, &i.skipped),
                "best agent for {}",
                i.id
            );
            by_scan
                .entry(route)
                .or_default()
                .push((q.since, q.seq, i.id.clone()));
        }
        let index = core.queues.contents();
        for (route, mut queue) in by_scan {
            queue.sort();
            assert_eq!(index.waiting.get(&route), Some(&queue), "queue {route:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_index_routes_as_a_full_scan_would(ops in proptest::collection::vec(op(), 1..120)) {
        let mut pair = Pair::new();
        for op in ops {
            pair.run(op);
            pair.check_choices();
        }
    }
}
