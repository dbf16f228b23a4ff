//! Deadlines as data: ring time-outs, transfer-data collection, disconnect grace, queue waits.

use std::collections::BTreeSet;

use baton_protocol::Millis;

use crate::entity::*;

use super::{Core, QUEUE_WAIT_TEXT, unanswered};

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

/// The timers set, in due order. A timer is never cancelled: it is checked when due.
#[derive(Default)]
pub(crate) struct Timers {
    due: BTreeSet<(Millis, Timer)>,
}

impl Timers {
    pub(super) fn set(&mut self, at: Millis, timer: Timer) {
        self.due.insert((at, timer));
    }

    /// When the earliest timer is due.
    pub(super) fn next_due(&self) -> Option<Millis> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Takes the earliest timer if it is due at `now`.
    fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        if self.next_due()? > now {
            return None;
        }
        self.due.pop_first().map(|(_, timer)| timer)
    }
}

impl Core {
    /// Sets a timer; [`Command::Tick`](crate::Command::Tick) (or the next command) fires it.
    pub(crate) fn set_timer(&mut self, at: Millis, timer: Timer) {
        self.timers.set(at, timer);
    }

    pub(super) fn fire_due_timers(&mut self) {
        while let Some(timer) = self.timers.pop_due(self.now) {
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
}
