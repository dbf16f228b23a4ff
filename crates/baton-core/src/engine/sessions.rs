//! Agent logins and their connections: connect, resync, disconnect, log out.

use std::collections::BTreeMap;

use baton_protocol::frame::arg;
use baton_protocol::{AgentStateName, ApiError, ErrorCode, Millis, ServerFrame, events};

use crate::effect::{Effect, Recipient};
use crate::entity::*;

use super::{Core, CoreResult, Timer, err, next_seq};

/// Which agent each open agent connection belongs to: from its login until it closes,
/// the agent logs in elsewhere or logs out. Only this module opens and closes entries.
#[derive(Default)]
pub(crate) struct Connections {
    agents: BTreeMap<u64, AgentId>,
}

impl Connections {
    fn agent(&self, conn: u64) -> Option<&AgentId> {
        self.agents.get(&conn)
    }

    fn open(&mut self, conn: u64, agent: AgentId) {
        self.agents.insert(conn, agent);
    }

    fn close(&mut self, conn: u64) -> Option<AgentId> {
        self.agents.remove(&conn)
    }

    /// The connections served by one cluster node.
    fn on_node(&self, node: u16) -> Vec<u64> {
        self.agents
            .keys()
            .copied()
            .filter(|c| crate::command::node_of(*c) == node)
            .collect()
    }
}

impl Core {
    /// The agent logged in on a connection, if it is open.
    pub(crate) fn agent_on(&self, conn: u64) -> Option<AgentId> {
        self.connections.agent(conn).cloned()
    }

    /// `setAgentState`: the agent chooses ready, not ready (with a reason) or after-call
    /// work; ringing and busy follow from their interactions.
    pub(super) fn set_agent_state(
        &mut self,
        agent: &AgentId,
        state: &str,
        reason: Option<String>,
    ) -> CoreResult {
        let chosen = match AgentStateName::parse(state) {
            Some(AgentStateName::Ready) => ChosenState::Ready,
            Some(AgentStateName::NotReady) => ChosenState::NotReady {
                reason: self.check_not_ready_reason(agent, reason)?,
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
        let now = self.now;
        let a = self.agents.get_mut(agent).expect("connected");
        if chosen == ChosenState::Ready && a.chosen != ChosenState::Ready {
            a.idle_since = now;
        }
        a.chosen = chosen;
        self.touch_agent(agent);
        Ok(serde_json::Value::Null)
    }

    /// Every connection of a node that went down closes as if its socket had dropped.
    pub(super) fn node_down(&mut self, node: u16) {
        for conn in self.connections.on_node(node) {
            self.disconnect(conn);
        }
    }

    pub(super) fn connect(
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
                // The host CRM learns of the logout as of any other (docs/protocol.md).
                self.out.push(Effect::Send {
                    to: Recipient::Agent(old_conn),
                    frame: ServerFrame::event(events::ON_LOGOUT, vec![arg(&"forced")]),
                });
                self.out.push(Effect::Close { conn: old_conn });
                self.connections.close(old_conn);
            }
            if old.session != session {
                self.out.push(Effect::RevokeSession {
                    session: old.session.clone(),
                });
            }
        }
        let now = self.now;
        let agent = self.agents.get_mut(&agent_id).expect("checked");
        // A new session starts not ready (PROTOCOL.md), also when it takes over an older
        // one: only the same session reconnecting keeps the state the agent chose.
        if previous.as_ref().is_none_or(|old| old.session != session) {
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
        self.connections.open(conn, agent_id.clone());
        self.touch_agent(&agent_id);

        let agent = &self.agents[&agent_id];
        let state = self.agent_state(agent);
        let login = serde_json::json!({
            "agentId": agent.id, "username": agent.username, "displayName": agent.display_name,
            "extension": agent.extension, "state": state.state, "notReadyReason": state.not_ready_reason,
            "dialCandidates": agent.login.as_ref().map(|l| &l.dial_candidates),
        });
        self.views.show_agent_state(&agent_id, &state);
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
                self.views.announced(&id, &agent_id);
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

    pub(super) fn disconnect(&mut self, conn: u64) {
        let Some(agent_id) = self.connections.close(conn) else {
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
            self.set_timer(
                now + grace,
                Timer::Grace {
                    agent: agent_id.clone(),
                },
            );
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
            self.connections.close(conn);
        }
        self.out.push(Effect::RevokeSession {
            session: login.session,
        });
        let agent = self.agents.get_mut(agent_id).expect("checked");
        agent.login = None;
        agent.chosen = ChosenState::NotReady { reason: None };
        agent.active_interaction = None;
        self.views.forget_agent(agent_id);
        self.touch_agent(agent_id);
    }

    /// Tells the agent's socket why with `ON_SERVER_ERROR`, then logs the agent out.
    pub(super) fn end_login(&mut self, agent: &AgentId, error: ApiError, reason: &str) {
        if self.agents.get(agent).is_some_and(|a| a.is_logged_in()) {
            self.emit(agent, events::ON_SERVER_ERROR, vec![arg(&error)]);
            self.log_out(agent, reason);
        }
    }
}
