//! Invariants that hold after every command. Debug builds check them after each `apply`;
//! the property tests rely on that. In debug builds they include that the routing index
//! agrees with a full scan (too costly to check in release).

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
    routing_index(core)?;
    Ok(())
}

/// The routing index equals what a full scan finds, written without the index's own code
/// (`Core::load`, `is_ringing`, `routable_capacity`), and no queue is left with both a
/// customer waiting and an agent eligible. Debug builds only: it scans everything.
#[cfg(debug_assertions)]
fn routing_index(core: &Core) -> Result<(), String> {
    use crate::queues::{Contents, Lane, Route};
    use baton_protocol::Channel;
    let mut scan = Contents::default();
    for i in core.interactions.values() {
        if let Some(q) = &i.queue {
            if q.service != i.service {
                return Err(format!(
                    "{} is queued for another service than its own",
                    i.id
                ));
            }
            let route = Route {
                service: q.service.clone(),
                tenant: i.tenant.clone(),
                lane: i.channel.into(),
            };
            scan.waiting
                .entry(route)
                .or_default()
                .push((q.since, q.seq, i.id.clone()));
        }
        if crate::engine::unanswered(i) {
            scan.unanswered
                .entry(i.service.clone())
                .or_default()
                .insert(i.id.clone());
        }
    }
    scan.waiting.values_mut().for_each(|q| q.sort());
    for a in core.agents.values() {
        if !(a.is_connected() && a.chosen == ChosenState::Ready) {
            continue;
        }
        for s in &a.services {
            scan.ready
                .entry(s.clone())
                .or_default()
                .insert(a.id.clone());
        }
        if core.is_ringing(&a.id) {
            continue;
        }
        let (voice, chat) = core.load(&a.id);
        let held = voice
            + chat
            + core.wrap_ups(&a.id, Channel::Voice)
            + core.wrap_ups(&a.id, Channel::Chat);
        for channel in [Channel::Voice, Channel::Chat] {
            if !core.routable_capacity(a, channel) {
                continue;
            }
            for s in &a.services {
                let route = Route {
                    service: s.clone(),
                    tenant: a.tenant.clone(),
                    lane: Lane::from(channel),
                };
                let ranks = scan.eligible.entry(route).or_default();
                let rank = (held, a.idle_since, a.id.clone());
                if !ranks.contains(&rank) {
                    ranks.push(rank);
                }
            }
        }
    }
    scan.eligible.values_mut().for_each(|r| r.sort());
    let index = core.queues.contents();
    if index != scan {
        return Err(format!(
            "the routing index differs from a scan: index {index:?}, scan {scan:?}"
        ));
    }
    if let Some(route) = scan.waiting.keys().find(|r| scan.eligible.contains_key(*r)) {
        return Err(format!(
            "{route:?} has customers waiting and agents eligible"
        ));
    }
    let (usernames, extensions) = core.names.entries();
    let by_scan: std::collections::BTreeSet<_> = core
        .agents
        .values()
        .map(crate::names::username_key)
        .collect();
    if *usernames != by_scan {
        return Err("the username index differs from the agents".into());
    }
    let by_scan: std::collections::BTreeSet<_> = core
        .agents
        .values()
        .filter_map(crate::names::extension_key)
        .collect();
    if *extensions != by_scan {
        return Err("the extension index differs from the agents".into());
    }
    Ok(())
}

#[cfg(not(debug_assertions))]
fn routing_index(_: &Core) -> Result<(), String> {
    Ok(())
}
