//! The SFU's peer connections, indexed so that what one datagram costs does not grow with
//! the number of calls (issue 15): a datagram finds its peer by the address it came from,
//! a frame goes only to the peers of its own call, and timers are kept in deadline order
//! so only the peers that are due are woken.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Instant;

use str0m::Input;

use super::{Peer, PeerKey};

/// A peer connection's handle, never reused (a replaced peer gets a new one).
pub(super) type PeerId = u64;

/// The remote addresses remembered per peer: a browser checks a few candidate pairs
/// (host, server-reflexive, relayed, IPv4 and IPv6); older ones are forgotten first.
const MAX_ADDRESSES_PER_PEER: usize = 8;

#[derive(Default)]
pub(super) struct Peers {
    next_id: PeerId,
    all: HashMap<PeerId, Peer>,
    by_key: HashMap<PeerKey, PeerId>,
    /// The peers of each call, in the order they joined.
    by_call: HashMap<String, Vec<PeerId>>,
    /// Remote addresses learnt from accepted datagrams (ICE checks, in practice).
    by_address: HashMap<SocketAddr, PeerId>,
    /// `(peer.due, id)` of every peer.
    timers: BTreeSet<(Instant, PeerId)>,
    /// Peers with a slot carrying hold music.
    hearing_hold_music: BTreeSet<PeerId>,
}

impl Peers {
    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn id_of(&self, key: &PeerKey) -> Option<PeerId> {
        self.by_key.get(key).copied()
    }

    pub fn get(&self, id: PeerId) -> Option<&Peer> {
        self.all.get(&id)
    }

    pub fn get_mut(&mut self, id: PeerId) -> Option<&mut Peer> {
        self.all.get_mut(&id)
    }

    /// The peers of a call, in the order they joined.
    pub fn of_call(&self, call: &str) -> Vec<PeerId> {
        self.by_call.get(call).cloned().unwrap_or_default()
    }

    /// Every peer of `party`, on any call (a rare, whole scan: an agent's socket closed).
    pub fn of_party(&self, party: &super::Party) -> Vec<PeerId> {
        self.by_key
            .iter()
            .filter(|(k, _)| &k.party == party)
            .map(|(_, id)| *id)
            .collect()
    }

    /// Adds a peer (its key must not be taken: remove the one it replaces first).
    pub fn insert(&mut self, peer: Peer) -> PeerId {
        let id = self.next_id;
        self.next_id += 1;
        self.by_key.insert(peer.key.clone(), id);
        self.by_call
            .entry(peer.key.call.clone())
            .or_default()
            .push(id);
        self.timers.insert((peer.due, id));
        self.all.insert(id, peer);
        id
    }

    /// Takes a peer out of every index.
    pub fn remove(&mut self, id: PeerId) -> Option<Peer> {
        let peer = self.all.remove(&id)?;
        self.by_key.remove(&peer.key);
        if let Some(ids) = self.by_call.get_mut(&peer.key.call) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_call.remove(&peer.key.call);
            }
        }
        for addr in &peer.addresses {
            if self.by_address.get(addr) == Some(&id) {
                self.by_address.remove(addr);
            }
        }
        self.timers.remove(&(peer.due, id));
        self.hearing_hold_music.remove(&id);
        Some(peer)
    }

    /// The peer a received datagram belongs to. The peer last seen at its source address
    /// is asked first; only a STUN message (an ICE check, RFC 7983: first byte 0 to 3) from
    /// an address no peer claims is offered to every peer, and the one that accepts it is
    /// remembered for that address. Anything else from an unknown address is no peer's:
    /// str0m takes DTLS and RTP only from addresses that passed an ICE check.
    pub fn route(&mut self, source: SocketAddr, first_byte: u8, input: &Input) -> Option<PeerId> {
        if let Some(&id) = self.by_address.get(&source)
            && self.all.get(&id).is_some_and(|p| p.rtc.accepts(input))
        {
            return Some(id);
        }
        if first_byte > 3 {
            return None;
        }
        let id = self
            .all
            .iter()
            .find(|(_, p)| p.rtc.accepts(input))
            .map(|(id, _)| *id)?;
        self.learn_address(source, id);
        Some(id)
    }

    fn learn_address(&mut self, source: SocketAddr, id: PeerId) {
        if let Some(previous) = self.by_address.insert(source, id)
            && let Some(p) = self.all.get_mut(&previous)
        {
            p.addresses.retain(|a| *a != source);
        }
        let Some(peer) = self.all.get_mut(&id) else {
            return;
        };
        if peer.addresses.len() >= MAX_ADDRESSES_PER_PEER {
            let oldest = peer.addresses.remove(0);
            if self.by_address.get(&oldest) == Some(&id) {
                self.by_address.remove(&oldest);
            }
        }
        peer.addresses.push(source);
    }

    /// The peer's `due` changed from `was`: its timer moves.
    pub fn reschedule(&mut self, id: PeerId, was: Instant) {
        let Some(peer) = self.all.get(&id) else {
            return;
        };
        self.timers.remove(&(was, id));
        self.timers.insert((peer.due, id));
    }

    /// The peers whose timer is due at `now`.
    pub fn due(&self, now: Instant) -> Vec<PeerId> {
        self.timers
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| *id)
            .collect()
    }

    /// The earliest timer.
    pub fn next_due(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    pub fn set_hears_hold_music(&mut self, id: PeerId, hears: bool) {
        if hears {
            self.hearing_hold_music.insert(id);
        } else {
            self.hearing_hold_music.remove(&id);
        }
    }

    pub fn hearing_hold_music(&self) -> Vec<PeerId> {
        self.hearing_hold_music.iter().copied().collect()
    }

    pub fn any_hears_hold_music(&self) -> bool {
        !self.hearing_hold_music.is_empty()
    }
}
