//! Random command sequences against [`Core`], checking after every command:
//! - the core's own invariants (debug builds also panic inside `apply`; proptest reports
//!   and shrinks that like any failure);
//! - an interaction is never offered to two agents at once, no agent is over capacity, and
//!   no interaction is lost: each one created is live in exactly one status or completed;
//! - the transfer-data rules, judged from the frames alone plus what this test knows (which
//!   connection has which integration key, which data each sender gave): every
//!   `ON_LOAD_TRANSFER_DATA` goes to a connection that was offered that interaction, for the
//!   leg the agent's party joined by, whose key equals the sender's key, carrying bytes the
//!   sender actually gave, and no frame goes to a closed connection.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use baton_core::{AdminCommand, AgentId, Command, CoreConfig, Effect, InteractionId, Recipient};
use baton_core::{InteractionStatus, PartyState};
use baton_protocol::{Channel, Method, Millis};
use common::*;
use proptest::prelude::*;
use serde_json::value::RawValue;

const AGENTS: [&str; 4] = ["a0", "a1", "a2", "a3"];
/// `crm` thrice: most hand-offs should be between hosts of one integration.
const KEYS: [Option<&str>; 5] = [None, Some("crm"), Some("crm"), Some("crm"), Some("erp")];
const SERVICES: [&str; 2] = ["sales", "support"];
const MAX_BYTES: usize = 300;
const COLLECT_MS: u64 = 1000;
const GRACE_MS: u64 = 20_000;

#[derive(Debug, Clone)]
enum Op {
    Connect {
        agent: usize,
        key: usize,
        new_session: bool,
    },
    Disconnect {
        agent: usize,
    },
    Logout {
        agent: usize,
    },
    SetState {
        agent: usize,
        state: usize,
    },
    NewInteraction {
        chat: bool,
        service: usize,
    },
    Accept {
        agent: usize,
        pick: usize,
    },
    Reject {
        agent: usize,
        pick: usize,
    },
    Leave {
        agent: usize,
        pick: usize,
    },
    Complete {
        agent: usize,
        pick: usize,
    },
    Hold {
        agent: usize,
        pick: usize,
        hold: bool,
    },
    AgentChat {
        agent: usize,
        pick: usize,
    },
    CustomerChat {
        pick: usize,
    },
    HandOff {
        agent: usize,
        kind: usize,
        target: usize,
        data: Option<usize>,
        pick: usize,
    },
    Reply {
        which: usize,
        how: usize,
        from_current: bool,
    },
    Ack {
        which: usize,
    },
    Hangup {
        pick: usize,
    },
    Tick {
        ms: Millis,
    },
    /// The process restarts from what the change sets committed.
    Restart,
    /// Desk methods that change who is on what: 0 internal call, 1 outbound call,
    /// 2 outbound chat, 3 destroy a call conference, 4 leave and complete.
    Desk {
        agent: usize,
        kind: usize,
        target: usize,
        pick: usize,
    },
}

/// 0 blind, 1 queue, 2 consult, 3 transfer, 4 merge, 5 conference, 6 chat invite,
/// 7 remove from conference. Consultations get more weight: transfer and merge need one.
fn handoff_kind() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => Just(0usize),
        2 => Just(1),
        4 => Just(2),
        3 => Just(3),
        3 => Just(4),
        2 => Just(5),
        2 => Just(6),
        1 => Just(7),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 0..AGENTS.len();
    let pick = 0usize..4;
    prop_oneof![
        2 => (agent.clone(), 0..KEYS.len(), any::<bool>())
            .prop_map(|(agent, key, new_session)| Op::Connect { agent, key, new_session }),
        1 => agent.clone().prop_map(|agent| Op::Disconnect { agent }),
        1 => agent.clone().prop_map(|agent| Op::Logout { agent }),
        2 => (agent.clone(), 0usize..3).prop_map(|(agent, state)| Op::SetState { agent, state }),
        6 => (any::<bool>(), 0..SERVICES.len())
            .prop_map(|(chat, service)| Op::NewInteraction { chat, service }),
        10 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Accept { agent, pick }),
        2 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Reject { agent, pick }),
        1 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Leave { agent, pick }),
        2 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::Complete { agent, pick }),
        1 => (agent.clone(), pick.clone(), any::<bool>())
            .prop_map(|(agent, pick, hold)| Op::Hold { agent, pick, hold }),
        1 => (agent.clone(), pick.clone()).prop_map(|(agent, pick)| Op::AgentChat { agent, pick }),
        1 => pick.clone().prop_map(|pick| Op::CustomerChat { pick }),
        10 => (agent.clone(), handoff_kind(), 0usize..10, proptest::option::of(0usize..3), pick.clone())
            .prop_map(|(agent, kind, target, data, pick)| Op::HandOff { agent, kind, target, data, pick }),
        8 => (0usize..8, 0usize..10, proptest::bool::weighted(0.8))
            .prop_map(|(which, how, from_current)| Op::Reply { which, how, from_current }),
        2 => (0usize..8).prop_map(|which| Op::Ack { which }),
        1 => (0usize..8).prop_map(|pick| Op::Hangup { pick }),
        1 => Just(Op::Restart),
        3 => (agent.clone(), 0usize..5, 0..AGENTS.len(), pick.clone())
            .prop_map(|(agent, kind, target, pick)| Op::Desk { agent, kind, target, pick }),
        4 => prop_oneof![0..2000i64, Just(COLLECT_MS as i64), Just(RING_MS), Just(GRACE_MS as i64), 0..30_000i64]
            .prop_map(|ms| Op::Tick { ms }),
    ]
}

/// What the test knows beyond the frames.
#[derive(Default)]
struct Model {
    /// Interactions created, in order.
    created: Vec<String>,
    /// The integration key of the connection that asked for each hand-off.
    sender_key: BTreeMap<String, Option<String>>,
    /// Every data text the sender gave for a leg (explicit, or a host's acceptable answer).
    candidates: BTreeMap<String, Vec<String>>,
    /// Interactions each connection has been told about and not told removed.
    open: BTreeMap<u64, BTreeSet<String>>,
    /// `(conn, rid)` of every `ON_REQUEST_TRANSFER_DATA` seen.
    requests: Vec<(u64, String)>,
    /// `(conn, rid)` of every `ON_LOAD_TRANSFER_DATA` seen.
    loads: Vec<(u64, String)>,
    counter: u64,
}

impl Model {
    fn unique_data(&mut self) -> String {
        self.counter += 1;
        format!(
            r#"{{ "n" : {}, "s":"caf\u00e9 é", "f": 1.50 }}"#,
            self.counter
        )
    }
}

/// An agent for an agent op: the `n`th (cyclically) of those with a party in one of
/// `states`, so that random ops mostly act where they can; anyone when nobody fits.
fn agent_in(w: &World, n: usize, states: &[PartyState]) -> &'static str {
    let fitting: Vec<&'static str> = AGENTS
        .iter()
        .copied()
        .filter(|a| {
            w.core.interactions().any(|i| {
                i.party(&AgentId((*a).into()))
                    .is_some_and(|p| states.contains(&p.state))
            })
        })
        .collect();
    if fitting.is_empty() {
        AGENTS[n % AGENTS.len()]
    } else {
        fitting[n % fitting.len()]
    }
}

const RINGING: &[PartyState] = &[PartyState::Ringing];
const ANSWERED: &[PartyState] = &[PartyState::Connected, PartyState::Hold];
const ON_IT: &[PartyState] = &[PartyState::Connected, PartyState::Hold, PartyState::WrapUp];

/// The interactions an agent is a party of, and one of them or `None` by `pick`.
fn pick_id(w: &World, agent: &str, pick: usize) -> Option<String> {
    let mine: Vec<String> = w
        .core
        .interactions()
        .filter(|i| i.party(&AgentId(agent.into())).is_some())
        .map(|i| i.id.0.clone())
        .collect();
    if pick < mine.len() {
        Some(mine[pick].clone())
    } else {
        None
    }
}

fn request(
    w: &mut World,
    agent: &str,
    method: Method,
) -> Option<Result<serde_json::Value, baton_protocol::ApiError>> {
    let conn = *w.conn_of.get(agent)?;
    w.apply(Command::Request { conn, method }).reply
}

fn run(keys: Vec<usize>, initial: Vec<(bool, bool)>, ops: Vec<Op>) {
    let mut w = World::with_config(CoreConfig {
        disconnect_grace_ms: GRACE_MS,
        ..CoreConfig::default()
    });
    w.admin(AdminCommand::UpdateSettings {
        tenant: TENANT.into(),
        transfer_data_timeout_ms: Some(COLLECT_MS),
        transfer_data_max_bytes: Some(MAX_BYTES),
        retention_secs: None,
        dtmf_log: None,
        record_calls: None,
    })
    .unwrap();
    w.add_agent_with("a0", &["sales"], 2, Some("100"));
    w.add_agent_with("a1", &["sales", "support"], 2, Some("101"));
    w.add_agent_with("a2", &["support"], 3, Some("102"));
    w.add_agent_with("a3", &["sales", "support"], 1, Some("103"));
    let mut m = Model::default();
    // Everyone starts logged in and ready, each with a random host.
    for (a, key) in AGENTS.iter().zip(keys) {
        w.connect(a, KEYS[key]);
        observe(&mut w, &mut m);
        w.ready(a);
        observe(&mut w, &mut m);
    }
    // A few interactions already routed, most of them answered, so that hand-offs can
    // start right away.
    for (chat, answer) in initial {
        step(&mut w, &mut m, Op::NewInteraction { chat, service: 0 });
        observe(&mut w, &mut m);
        let ringing: Vec<&str> = AGENTS
            .iter()
            .copied()
            .filter(|a| {
                w.core
                    .agent_state(w.core.agent(&AgentId((*a).into())).unwrap())
                    .state
                    == baton_protocol::AgentStateName::Ringing
            })
            .collect();
        if answer {
            for a in ringing {
                request(&mut w, a, Method::AcceptInteraction { id: None });
                observe(&mut w, &mut m);
            }
        }
    }
    for op in ops {
        step(&mut w, &mut m, op);
        observe(&mut w, &mut m);
    }
}

fn step(w: &mut World, m: &mut Model, op: Op) {
    match op {
        Op::Connect {
            agent,
            key,
            new_session,
        } => {
            let a = AGENTS[agent];
            let session = if new_session {
                m.counter += 1;
                format!("s-{a}-{}", m.counter)
            } else {
                format!("session-{a}")
            };
            w.connect_session(a, KEYS[key], &session);
        }
        Op::Disconnect { agent } => {
            if w.conn_of.contains_key(AGENTS[agent]) {
                w.disconnect(AGENTS[agent]);
            }
        }
        Op::Logout { agent } => {
            request(w, AGENTS[agent], Method::Logout);
        }
        Op::SetState { agent, state } => {
            let state = ["ready", "not_ready", "after_call_work"][state];
            request(
                w,
                AGENTS[agent],
                Method::SetAgentState {
                    state: state.into(),
                    reason: None,
                },
            );
        }
        Op::NewInteraction { chat, service } => {
            let id = format!("i{}", m.created.len() + 1);
            let channel = if chat { Channel::Chat } else { Channel::Voice };
            w.new_interaction(&id, channel, SERVICES[service]);
            m.created.push(id);
        }
        Op::Accept { agent, pick } => {
            let agent = agent_in(w, agent, RINGING);
            let id = pick_id(w, agent, pick);
            request(w, agent, Method::AcceptInteraction { id });
        }
        Op::Reject { agent, pick } => {
            let agent = agent_in(w, agent, RINGING);
            let id = pick_id(w, agent, pick);
            request(w, agent, Method::RejectInteraction { id });
        }
        Op::Leave { agent, pick } => {
            let agent = agent_in(w, agent, ANSWERED);
            let id = pick_id(w, agent, pick);
            request(w, agent, Method::LeaveInteraction { id });
        }
        Op::Complete { agent, pick } => {
            let agent = agent_in(w, agent, ON_IT);
            let id = pick_id(w, agent, pick);
            request(w, agent, Method::CompleteInteraction { id });
        }
        Op::Hold { agent, pick, hold } => {
            let agent = agent_in(w, agent, ANSWERED);
            let id = pick_id(w, agent, pick);
            request(w, agent, Method::SetCallHold { hold, id });
        }
        Op::AgentChat { agent, pick } => {
            let agent = agent_in(w, agent, ANSWERED);
            let id = pick_id(w, agent, pick);
            request(
                w,
                agent,
                Method::SendChatMessage {
                    text: "hello".into(),
                    id,
                },
            );
        }
        Op::CustomerChat { pick } => {
            if let Some(id) = m.created.get(pick % m.created.len().max(1)).cloned() {
                w.apply(Command::CustomerMessage {
                    interaction: id.as_str().into(),
                    text: "hi".into(),
                });
            }
        }
        Op::Hangup { pick } => {
            if let Some(id) = m.created.get(pick % m.created.len().max(1)).cloned() {
                w.apply(Command::CustomerHangup {
                    interaction: id.as_str().into(),
                });
            }
        }
        Op::Tick { ms } => w.advance(ms),
        Op::Restart => w.restart(),
        Op::Desk {
            agent,
            kind,
            target,
            pick,
        } => {
            let on = if kind >= 3 { ANSWERED } else { &[][..] };
            let a = agent_in(w, agent, on);
            let id = pick_id(w, a, pick);
            let method = match kind {
                0 => Method::StartCall {
                    phone: format!("10{target}"),
                    objects: Vec::new(),
                },
                1 => Method::StartCall {
                    phone: "+1 212 555 0000".into(),
                    objects: Vec::new(),
                },
                2 => Method::StartChat {
                    channel: "web".into(),
                    address: "ann@example.com".into(),
                    objects: Vec::new(),
                },
                3 => Method::DestroyCallConference { id },
                _ => Method::LeaveAndCompleteInteraction {
                    disposition: None,
                    note: Some("done".into()),
                    id,
                },
            };
            request(w, a, method);
        }
        Op::HandOff {
            agent,
            kind,
            target,
            data,
            pick,
        } => {
            // Transfer and merge complete a consultation: the primary is on hold.
            let from = if matches!(kind, 3 | 4) {
                &[PartyState::Hold][..]
            } else {
                ANSWERED
            };
            let a = agent_in(w, agent, from);
            let Some(&conn) = w.conn_of.get(a) else {
                return;
            };
            let key = w.conn_info[&conn].1.clone();
            // Mostly another agent (by username or extension); sometimes oneself or nobody.
            let others: Vec<usize> = (0..AGENTS.len()).filter(|i| AGENTS[*i] != a).collect();
            let queue_targets = ["service:sales", "service:support", "service:nope"];
            let tgt = match target {
                0..=5 => AGENTS[others[target % others.len()]].to_owned(),
                6 | 7 => format!("10{}", others[target % others.len()]),
                8 => a.to_owned(),
                _ => "nobody".to_owned(),
            };
            let text = data.map(|d| match d {
                0 => m.unique_data(),
                1 => format!("\"{}\"", "x".repeat(MAX_BYTES)),
                _ => " null ".to_owned(),
            });
            let id = pick_id(w, a, pick);
            let method = match kind {
                0 => Method::BlindTransfer {
                    target: tgt,
                    data: text.clone(),
                    id,
                },
                1 => Method::BlindTransfer {
                    target: queue_targets[target % 3].into(),
                    data: text.clone(),
                    id,
                },
                2 => Method::ConsultCall { target: tgt },
                3 => Method::Transfer { data: text.clone() },
                4 => Method::MergeAllCallsIntoConference { data: text.clone() },
                5 => Method::InviteToCallConference {
                    target: tgt,
                    data: text.clone(),
                    id,
                },
                6 => Method::InviteToChatConference { agent_id: tgt, id },
                _ => {
                    if pick % 2 == 0 {
                        Method::RemoveFromCallConference { party_id: tgt, id }
                    } else {
                        Method::RemoveFromChatConference { party_id: tgt, id }
                    }
                }
            };
            let takes_data = matches!(kind, 0 | 1 | 3 | 4 | 5);
            let reply = w.apply(Command::Request { conn, method }).reply.unwrap();
            if let Ok(v) = &reply
                && let Some(t) = v.get("transferId").and_then(|t| t.as_str())
            {
                m.sender_key.insert(t.to_owned(), key);
                if takes_data && let Some(text) = text.clone() {
                    assert!(
                        text.len() <= MAX_BYTES,
                        "too-large explicit data was accepted"
                    );
                    m.candidates.entry(t.to_owned()).or_default().push(text);
                }
            }
        }
        Op::Reply {
            which,
            how,
            from_current,
        } => {
            if m.requests.is_empty() {
                return;
            }
            let (conn, rid) = m.requests[m.requests.len() - 1 - which % m.requests.len()].clone();
            let conn = if from_current {
                let agent = &w.conn_info[&conn].0;
                match w.conn_of.get(agent) {
                    Some(c) => *c,
                    None => conn,
                }
            } else {
                conn
            };
            let (value, error) = match how {
                5 => (None, None),
                6 => (None, Some("error: handler threw".to_owned())),
                7 => (None, Some("invalid: cyclic".to_owned())),
                8 => (Some(format!("\"{}\"", "y".repeat(MAX_BYTES))), None),
                9 => (Some("{ nope".to_owned()), None),
                _ => (Some(m.unique_data()), None),
            };
            if let Some(v) = &value
                && how < 5
            {
                m.candidates.entry(rid.clone()).or_default().push(v.clone());
            }
            w.apply(Command::Reply {
                conn,
                rid,
                value,
                error,
            });
        }
        Op::Ack { which } => {
            if m.loads.is_empty() {
                return;
            }
            let (conn, rid) = m.loads[m.loads.len() - 1 - which % m.loads.len()].clone();
            w.apply(Command::Reply {
                conn,
                rid,
                value: None,
                error: None,
            });
        }
    }
}

#[derive(serde::Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    args: Vec<&'a RawValue>,
}

/// Checks everything after one command (the harness has just recorded its effects).
fn observe(w: &mut World, m: &mut Model) {
    let core = &w.core;
    baton_core::invariants::check(core).unwrap_or_else(|e| panic!("invariant: {e}"));

    // No frame to a closed connection, in effect order.
    let mut closed_before: BTreeSet<u64> = w.closed.clone();
    for e in w.last_effects.iter().rev() {
        if let Effect::Close { conn } = e {
            closed_before.remove(conn);
        }
    }
    // `closed_before` is now the set closed before this command (plus disconnects the test
    // made itself, which are in `w.closed` before the command ran).
    for e in &w.last_effects {
        match e {
            Effect::Close { conn } => {
                closed_before.insert(*conn);
            }
            Effect::Send {
                to: Recipient::Agent(conn),
                frame,
            } => {
                assert!(
                    !closed_before.contains(conn),
                    "frame to closed connection {conn}: {}",
                    frame.to_text()
                );
            }
            _ => {}
        }
    }

    // Offers, capacity, and no lost interaction.
    let mut load: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for i in core.interactions() {
        let ringing = i
            .parties
            .iter()
            .filter(|p| p.state == PartyState::Ringing)
            .count();
        assert!(ringing <= 1, "{} is offered to {ringing} agents", i.id);
        let completed = i.completed_at.is_some();
        let queued = !completed && i.queue.is_some();
        let answered = i
            .parties
            .iter()
            .any(|p| matches!(p.state, PartyState::Connected | PartyState::Hold));
        let connected = !completed && i.queue.is_none() && answered;
        let offered = !completed && i.queue.is_none() && !answered && ringing == 1;
        let wrap_up = !completed
            && i.queue.is_none()
            && !i.parties.is_empty()
            && i.parties.iter().all(|p| p.state == PartyState::WrapUp);
        let statuses = [completed, queued, connected, offered, wrap_up];
        assert_eq!(
            statuses.iter().filter(|s| **s).count(),
            1,
            "{} must be in exactly one status: {:?}",
            i.id,
            i.status()
        );
        assert!(
            !queued || i.parties.is_empty(),
            "{} queued with parties",
            i.id
        );
        assert!(
            i.status() != InteractionStatus::Queued || i.customer_connected,
            "{} queued without customer",
            i.id
        );
        for p in &i.parties {
            if p.state != PartyState::WrapUp {
                let l = load.entry(p.agent.0.clone()).or_default();
                match i.channel {
                    Channel::Voice => l.0 += 1,
                    Channel::Chat => l.1 += 1,
                }
            }
        }
    }
    for (agent, (voice, chat)) in &load {
        let a = core.agent(&AgentId(agent.clone())).unwrap();
        assert!(
            *voice <= 1 && *chat <= a.max_chats,
            "{agent} over capacity: {voice} calls, {chat} chats"
        );
    }
    for id in &m.created {
        let live = core.interaction(&InteractionId(id.clone()));
        assert!(
            live.is_some_and(|i| i.completed_at.is_none()) || w.completed.contains(id),
            "{id} was lost"
        );
        assert!(
            !(live.is_some() && w.completed.contains(id)),
            "{id} is completed but still in memory"
        );
    }

    // Frames, in order.
    let frames = w.last.clone();
    for (n, f) in frames.iter().enumerate() {
        let (agent, key) = w.conn_info[&f.conn].clone();
        match f.event() {
            Some("ON_NEW_INTERACTION") => {
                m.open
                    .entry(f.conn)
                    .or_default()
                    .insert(f.interaction_id().unwrap());
            }
            Some("ON_INTERACTION_REMOVED") => {
                m.open
                    .entry(f.conn)
                    .or_default()
                    .remove(&f.interaction_id().unwrap());
            }
            Some("ON_REQUEST_TRANSFER_DATA") => {
                let t = f.rid().unwrap().to_owned();
                assert_eq!(
                    f.arg(1)["transferId"].as_str(),
                    Some(t.as_str()),
                    "rid is the transfer id"
                );
                m.requests.push((f.conn, t));
            }
            Some("ON_LOAD_TRANSFER_DATA") => {
                let id = f.interaction_id().unwrap();
                let meta = f.arg(2);
                let t = meta["transferId"].as_str().unwrap().to_owned();
                m.loads.push((f.conn, f.rid().unwrap().to_owned()));
                // (a) offered/joined on this connection.
                assert!(
                    m.open.get(&f.conn).is_some_and(|s| s.contains(&id)),
                    "{agent} got data for {id} it was never offered on conn {}",
                    f.conn
                );
                // (b) for the leg the party joined by, which is current.
                let removed_later = frames[n + 1..].iter().any(|g| {
                    g.conn == f.conn
                        && g.is("ON_INTERACTION_REMOVED")
                        && g.interaction_id().as_deref() == Some(id.as_str())
                });
                if !removed_later {
                    let i = core
                        .interaction(&InteractionId(id.clone()))
                        .unwrap_or_else(|| panic!("{id} gone right after delivering its data"));
                    let party = i
                        .party(&AgentId(agent.clone()))
                        .unwrap_or_else(|| panic!("{agent} got data but is not on {id}"));
                    assert_eq!(
                        party.via_leg.as_ref().map(|l| l.0.as_str()),
                        Some(t.as_str()),
                        "{agent} got data of a leg it did not join by"
                    );
                    let kind = meta["kind"].as_str().unwrap();
                    if meta["replay"] == false && kind != "transfer" && kind != "merge" {
                        assert_eq!(
                            party.state,
                            PartyState::Ringing,
                            "first delivery happens while ringing"
                        );
                    }
                }
                // (c) same integration as the sender.
                let sender_key = m
                    .sender_key
                    .get(&t)
                    .unwrap_or_else(|| panic!("unknown leg {t}"));
                assert!(key.is_some(), "data to a connection without a host");
                assert_eq!(&key, sender_key, "data crossed integrations");
                // Exactly the bytes the sender gave. (Whitespace around the value is not part
                // of it: `RawValue` drops it when the frame is built, see the report.)
                let raw: RawEvent = serde_json::from_str(&f.text).unwrap();
                let data = raw.args[1].get();
                let prefix = format!("\"args\":[{},", raw.args[0].get());
                assert!(
                    m.candidates.get(&t).is_some_and(|c| c
                        .iter()
                        .any(|d| f.text.contains(&format!("{prefix}{},", d.trim())))),
                    "{agent} got bytes nobody sent for {t}: {data} in {}",
                    f.text
                );
                assert_eq!(
                    meta["fromAgentId"].as_str(),
                    core.leg(&baton_core::TransferId(t.clone()))
                        .map(|l| l.from_agent.0.as_str())
                );
            }
            _ => {}
        }
    }
    for conn in &w.closed {
        m.open.remove(conn);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        max_shrink_iters: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_commands_keep_every_rule(
        keys in proptest::collection::vec(0..KEYS.len(), AGENTS.len()),
        initial in proptest::collection::vec((proptest::bool::weighted(0.3), proptest::bool::weighted(0.8)), 0..5),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(keys, initial, ops);
    }
}
