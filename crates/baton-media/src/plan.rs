//! Who hears whom: the forwarding table of one call, derived from the call's state in the
//! core (parties, their roles and hold states, the customer's hold) and the mutes.
//!
//! This is the whole policy of the media plane and it is a pure function, so every call
//! state is tested here without a socket (docs/voice.md, "Who hears whom").

use std::collections::{BTreeMap, BTreeSet};

/// One side of a call that can hold a peer connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    Customer,
    /// An agent, by agent id.
    Agent(String),
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Party::Customer => f.write_str("customer"),
            Party::Agent(a) => write!(f, "agent {a}"),
        }
    }
}

/// What a receiver can be sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Another party's microphone, forwarded as it comes (no transcoding).
    Party(Party),
    /// The hold music that ships with Baton.
    HoldMusic,
}

/// An agent's part in the call, as the core records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRole {
    Primary,
    Consult,
    Conference,
}

/// An agent party's state, as the core records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Ringing,
    Connected,
    Hold,
    WrapUp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentParty {
    pub agent: String,
    pub role: AgentRole,
    pub state: AgentState,
}

/// A voice interaction's state, as far as audio depends on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallState {
    /// The customer is on the call (an internal call has none).
    pub customer_connected: bool,
    pub customer_on_hold: bool,
    pub agents: Vec<AgentParty>,
    /// Parties whose microphone is not forwarded (`setCallMute`).
    pub muted: BTreeSet<Party>,
    /// The recording policy of the call's service or tenant (`None`: the server's
    /// `[media] record_calls`). Read when the media plane first hears of the call.
    pub record: Option<bool>,
}

/// For each receiver, the sources it hears. A receiver not listed hears nothing.
pub type Plan = BTreeMap<Party, BTreeSet<Source>>;

/// Who hears whom in this state:
/// - connected: the customer and every connected agent (primary, conference) hear each other;
/// - hold: the customer hears hold music, the holding agent nothing;
/// - consult: the primary (holding) and the consulted agent hear each other, the customer
///   hears hold music;
/// - a muted party is heard by nobody; ringing and wrap-up parties hear nothing.
pub fn plan(call: &CallState) -> Plan {
    let mut talking: Vec<Party> = Vec::new();
    let mut out = Plan::new();
    if call.customer_connected && call.customer_on_hold {
        out.insert(Party::Customer, BTreeSet::from([Source::HoldMusic]));
        let consulted: Vec<&AgentParty> = call
            .agents
            .iter()
            .filter(|a| a.role == AgentRole::Consult && a.state == AgentState::Connected)
            .collect();
        if !consulted.is_empty() {
            talking.extend(consulted.iter().map(|a| Party::Agent(a.agent.clone())));
            talking.extend(
                call.agents
                    .iter()
                    .filter(|a| a.role == AgentRole::Primary && a.state == AgentState::Hold)
                    .map(|a| Party::Agent(a.agent.clone())),
            );
        }
    } else {
        if call.customer_connected {
            talking.push(Party::Customer);
        }
        talking.extend(
            call.agents
                .iter()
                .filter(|a| a.state == AgentState::Connected)
                .map(|a| Party::Agent(a.agent.clone())),
        );
    }
    for receiver in &talking {
        let heard: BTreeSet<Source> = talking
            .iter()
            .filter(|s| *s != receiver && !call.muted.contains(*s))
            .map(|s| Source::Party(s.clone()))
            .collect();
        out.entry(receiver.clone()).or_default().extend(heard);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, role: AgentRole, state: AgentState) -> AgentParty {
        AgentParty {
            agent: id.into(),
            role,
            state,
        }
    }

    fn a(id: &str) -> Party {
        Party::Agent(id.into())
    }

    fn hears(plan: &Plan, receiver: &Party) -> Vec<Source> {
        plan.get(receiver)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn from(p: Party) -> Source {
        Source::Party(p)
    }

    fn connected_call() -> CallState {
        CallState {
            customer_connected: true,
            customer_on_hold: false,
            agents: vec![agent("ann", AgentRole::Primary, AgentState::Connected)],
            muted: BTreeSet::new(),
            record: None,
        }
    }

    #[test]
    fn connected_customer_and_agent_hear_each_other() {
        let p = plan(&connected_call());
        assert_eq!(hears(&p, &Party::Customer), vec![from(a("ann"))]);
        assert_eq!(hears(&p, &a("ann")), vec![from(Party::Customer)]);
    }

    #[test]
    fn ringing_agent_hears_nothing_and_is_not_heard() {
        let mut call = connected_call();
        call.agents[0].state = AgentState::Ringing;
        let p = plan(&call);
        assert!(hears(&p, &Party::Customer).is_empty());
        assert!(hears(&p, &a("ann")).is_empty());
    }

    #[test]
    fn hold_gives_the_customer_music_and_the_agent_silence() {
        let mut call = connected_call();
        call.customer_on_hold = true;
        call.agents[0].state = AgentState::Hold;
        let p = plan(&call);
        assert_eq!(hears(&p, &Party::Customer), vec![Source::HoldMusic]);
        assert!(hears(&p, &a("ann")).is_empty());
    }

    #[test]
    fn mute_stops_only_the_muted_side() {
        let mut call = connected_call();
        call.muted.insert(a("ann"));
        let p = plan(&call);
        assert!(hears(&p, &Party::Customer).is_empty());
        assert_eq!(hears(&p, &a("ann")), vec![from(Party::Customer)]);
        call.muted = BTreeSet::from([Party::Customer]);
        let p = plan(&call);
        assert_eq!(hears(&p, &Party::Customer), vec![from(a("ann"))]);
        assert!(hears(&p, &a("ann")).is_empty());
    }

    #[test]
    fn consult_joins_the_agents_while_the_customer_hears_music() {
        let call = CallState {
            customer_connected: true,
            customer_on_hold: true,
            agents: vec![
                agent("ann", AgentRole::Primary, AgentState::Hold),
                agent("bob", AgentRole::Consult, AgentState::Connected),
            ],
            muted: BTreeSet::new(),
            record: None,
        };
        let p = plan(&call);
        assert_eq!(hears(&p, &Party::Customer), vec![Source::HoldMusic]);
        assert_eq!(hears(&p, &a("ann")), vec![from(a("bob"))]);
        assert_eq!(hears(&p, &a("bob")), vec![from(a("ann"))]);
    }

    #[test]
    fn a_consult_still_ringing_leaves_the_primary_in_silence() {
        let call = CallState {
            customer_connected: true,
            customer_on_hold: true,
            agents: vec![
                agent("ann", AgentRole::Primary, AgentState::Hold),
                agent("bob", AgentRole::Consult, AgentState::Ringing),
            ],
            muted: BTreeSet::new(),
            record: None,
        };
        let p = plan(&call);
        assert_eq!(hears(&p, &Party::Customer), vec![Source::HoldMusic]);
        assert!(hears(&p, &a("ann")).is_empty());
        assert!(hears(&p, &a("bob")).is_empty());
    }

    #[test]
    fn transfer_moves_the_customer_to_the_new_agent() {
        // After a blind transfer (or a transfer after consult) the sender is in wrap-up and
        // the receiver is the connected primary.
        let call = CallState {
            customer_connected: true,
            customer_on_hold: false,
            agents: vec![
                agent("ann", AgentRole::Primary, AgentState::WrapUp),
                agent("bob", AgentRole::Primary, AgentState::Connected),
            ],
            muted: BTreeSet::new(),
            record: None,
        };
        let p = plan(&call);
        assert_eq!(hears(&p, &Party::Customer), vec![from(a("bob"))]);
        assert_eq!(hears(&p, &a("bob")), vec![from(Party::Customer)]);
        assert!(hears(&p, &a("ann")).is_empty());
    }

    #[test]
    fn conference_everyone_hears_everyone_else() {
        let call = CallState {
            customer_connected: true,
            customer_on_hold: false,
            agents: vec![
                agent("ann", AgentRole::Primary, AgentState::Connected),
                agent("bob", AgentRole::Conference, AgentState::Connected),
                agent("cat", AgentRole::Conference, AgentState::Connected),
            ],
            muted: BTreeSet::new(),
            record: None,
        };
        let p = plan(&call);
        assert_eq!(
            hears(&p, &Party::Customer),
            vec![from(a("ann")), from(a("bob")), from(a("cat"))]
        );
        assert_eq!(
            hears(&p, &a("bob")),
            vec![from(Party::Customer), from(a("ann")), from(a("cat"))]
        );
    }

    #[test]
    fn customer_gone_leaves_the_agents_together() {
        let call = CallState {
            customer_connected: false,
            customer_on_hold: false,
            agents: vec![
                agent("ann", AgentRole::Primary, AgentState::Connected),
                agent("bob", AgentRole::Conference, AgentState::Connected),
            ],
            muted: BTreeSet::new(),
            record: None,
        };
        let p = plan(&call);
        assert!(!p.contains_key(&Party::Customer));
        assert_eq!(hears(&p, &a("ann")), vec![from(a("bob"))]);
    }
}
