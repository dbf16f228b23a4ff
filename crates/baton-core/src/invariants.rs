//! Invariants that hold after every command. Debug builds check them after each `apply`;
//! the property tests rely on that.

use crate::engine::Core;
use crate::entity::*;

/// Checks every invariant; the error names the first one broken.
pub fn check(core: &Core) -> Result<(), String> {
    for i in core.interactions.values() {
        let ringing = i
            .parties
            .iter()
            .filter(|p| p.state == PartyState::Ringing)
            .count();
        if ringing > 1 {
            return Err(format!("{} is offered to {ringing} agents at once", i.id));
        }
        if i.queue.is_some() && !i.parties.is_empty() {
            return Err(format!("{} is queued and has parties", i.id));
        }
        if i.internal && (i.queue.is_some() || i.customer_connected || i.pending_leg.is_some()) {
            return Err(format!(
                "internal call {} has a queue, a customer or a hand-off",
                i.id
            ));
        }
        if i.queue.is_some() && !i.customer_connected {
            return Err(format!("{} is queued without its customer", i.id));
        }
        if i.completed_at.is_none() && i.parties.is_empty() && i.queue.is_none() {
            return Err(format!(
                "{} is lost: no party, not queued, not completed",
                i.id
            ));
        }
        for p in &i.parties {
            if !core
                .agent_interactions
                .get(&p.agent)
                .is_some_and(|s| s.contains(&i.id))
            {
                return Err(format!("{} is not indexed for {}", i.id, p.agent));
            }
            if !core.agents.get(&p.agent).is_some_and(Agent::is_logged_in) {
                return Err(format!("{} has logged-out party {}", i.id, p.agent));
            }
            if let Some(leg) = &p.via_leg
                && !i.legs.contains(leg)
            {
                return Err(format!(
                    "{} party {} joined via a foreign leg",
                    i.id, p.agent
                ));
            }
        }
    }
    for (agent, set) in &core.agent_interactions {
        for id in set {
            if core
                .interactions
                .get(id)
                .is_some_and(|i| i.party(agent).is_none())
            {
                return Err(format!("index says {agent} is on {id} but it is not"));
            }
        }
        if let Some(a) = core.agents.get(agent) {
            let (voice, chat) = core.load(agent);
            if voice > 1 || chat > a.max_chats {
                return Err(format!(
                    "{agent} is over capacity: {voice} calls, {chat} chats"
                ));
            }
        }
    }
    Ok(())
}
