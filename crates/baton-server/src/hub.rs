//! The live sockets. Each has a bounded queue of outgoing frames: a client that does not
//! read is disconnected rather than buffered without end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use baton_core::InteractionId;
use tokio::sync::{Notify, mpsc};

use crate::metrics::Metrics;

/// What a socket's writer is asked to send.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    /// Close with a code and reason after the frames before it.
    Close(u16, &'static str),
}

/// One socket as the hub sees it.
struct Peer {
    tx: mpsc::Sender<Outbound>,
    /// Woken when the peer must be dropped at once (slow consumer).
    kill: Arc<Notify>,
    pending: Arc<AtomicUsize>,
}

/// What a socket task keeps of its registration.
pub struct PeerHandle {
    pub id: u64,
    pub rx: mpsc::Receiver<Outbound>,
    pub kill: Arc<Notify>,
    pub pending: Arc<AtomicUsize>,
}

/// Who an agent socket belongs to, so it can announce itself again to a new cluster engine.
#[derive(Debug, Clone)]
pub struct AgentMeta {
    pub agent: baton_core::AgentId,
    pub session: baton_core::SessionId,
    pub integration_key: Option<String>,
}

#[derive(Default)]
struct Peers {
    agents: HashMap<u64, Peer>,
    meta: HashMap<u64, AgentMeta>,
    customers: HashMap<u64, (InteractionId, Peer)>,
}

/// Why a customer socket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerFull {
    /// The interaction has this many sockets open already.
    Interaction(usize),
    /// The node's customer pool holds this many.
    Pool(usize),
}

pub struct Hub {
    peers: Mutex<Peers>,
    next_id: AtomicU64,
    queue: usize,
    metrics: Arc<Metrics>,
}

impl Hub {
    /// A hub whose connection ids carry `node` in their top 16 bits (0 on a single node).
    pub fn new(queue: usize, metrics: Arc<Metrics>, node: u16) -> Self {
        Self {
            peers: Mutex::new(Peers::default()),
            next_id: AtomicU64::new(((node as u64) << 48) + 1),
            queue: queue.max(1),
            metrics,
        }
    }

    pub fn set_agent_meta(&self, id: u64, meta: AgentMeta) {
        self.lock().meta.insert(id, meta);
    }

    /// Every live agent socket of this node with its owner.
    pub fn agent_sockets(&self) -> Vec<(u64, AgentMeta)> {
        let peers = self.lock();
        peers
            .meta
            .iter()
            .filter(|(id, _)| peers.agents.contains_key(id))
            .map(|(id, m)| (*id, m.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Peers> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_peer(&self) -> (Peer, PeerHandle) {
        let (tx, rx) = mpsc::channel(self.queue);
        let kill = Arc::new(Notify::new());
        let pending = Arc::new(AtomicUsize::new(0));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        (
            Peer {
                tx,
                kill: kill.clone(),
                pending: pending.clone(),
            },
            PeerHandle {
                id,
                rx,
                kill,
                pending,
            },
        )
    }

    pub fn connections(&self) -> usize {
        let peers = self.lock();
        peers.agents.len() + peers.customers.len()
    }

    pub fn register_agent(&self) -> PeerHandle {
        let (peer, handle) = self.new_peer();
        self.lock().agents.insert(handle.id, peer);
        handle
    }

    /// Open agent sockets (the pool `limits.max_connections` bounds).
    pub fn agent_connections(&self) -> usize {
        self.lock().agents.len()
    }

    /// Registers a customer socket unless its interaction already has `per_interaction`
    /// open or the customers' pool holds `pool`; checked and taken under one lock.
    pub fn try_register_customer(
        &self,
        interaction: InteractionId,
        per_interaction: usize,
        pool: usize,
    ) -> Result<PeerHandle, CustomerFull> {
        let mut peers = self.lock();
        if peers.customers.len() >= pool {
            return Err(CustomerFull::Pool(pool));
        }
        let open = peers
            .customers
            .values()
            .filter(|(i, _)| i == &interaction)
            .count();
        if open >= per_interaction {
            return Err(CustomerFull::Interaction(per_interaction));
        }
        let (peer, handle) = self.new_peer();
        peers.customers.insert(handle.id, (interaction, peer));
        Ok(handle)
    }

    pub fn register_customer(&self, interaction: InteractionId) -> PeerHandle {
        let (peer, handle) = self.new_peer();
        self.lock().customers.insert(handle.id, (interaction, peer));
        handle
    }

    pub fn unregister(&self, id: u64) {
        let mut peers = self.lock();
        peers.agents.remove(&id);
        peers.meta.remove(&id);
        peers.customers.remove(&id);
    }

    /// Queues a frame for an agent socket. A full queue cuts the socket off.
    pub fn send_agent(&self, id: u64, out: Outbound) {
        let mut peers = self.lock();
        let Some(peer) = peers.agents.get(&id) else {
            return;
        };
        if peer.tx.try_send(out).is_err() {
            let peer = peers.agents.remove(&id).expect("present");
            self.metrics.slow_consumers.fetch_add(1, Ordering::Relaxed);
            peer.kill.notify_one();
        }
    }

    pub fn send_customers(&self, interaction: &InteractionId, text: &str) {
        let mut peers = self.lock();
        let mut slow = Vec::new();
        for (id, (i, peer)) in peers.customers.iter() {
            if i == interaction && peer.tx.try_send(Outbound::Text(text.to_owned())).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            if let Some((_, peer)) = peers.customers.remove(&id) {
                self.metrics.slow_consumers.fetch_add(1, Ordering::Relaxed);
                peer.kill.notify_one();
            }
        }
    }

    /// Queues a frame for one customer socket (an error answer).
    pub fn send_customers_one(&self, id: u64, text: &str) {
        let peers = self.lock();
        if let Some((_, peer)) = peers.customers.get(&id) {
            let _ = peer.tx.try_send(Outbound::Text(text.to_owned()));
        }
    }

    /// Whether this node holds a socket with this id.
    pub fn has_agent(&self, id: u64) -> bool {
        self.lock().agents.contains_key(&id)
    }

    pub fn close_customers(&self, interaction: &InteractionId) {
        let peers = self.lock();
        for (i, peer) in peers.customers.values() {
            if i == interaction {
                let _ = peer.tx.try_send(Outbound::Close(1000, "interaction ended"));
            }
        }
    }

    /// Closes every socket with 1001 "going away" (the server is stopping), so their tasks
    /// end and release the engine; widgets and chat pages reconnect to the next server.
    pub fn close_all(&self) {
        let peers = self.lock();
        let all = peers
            .agents
            .values()
            .chain(peers.customers.values().map(|(_, p)| p));
        for peer in all {
            if peer
                .tx
                .try_send(Outbound::Close(1001, "server shutting down"))
                .is_err()
            {
                peer.kill.notify_one();
            }
        }
    }

    /// A request was answered: one fewer pending.
    pub fn answered(&self, id: u64) {
        if let Some(peer) = self.lock().agents.get(&id) {
            let _ = peer
                .pending
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }
}
