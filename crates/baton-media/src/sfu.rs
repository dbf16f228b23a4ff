//! The selective forwarding unit: one str0m [`Rtc`] per party connection, fed datagrams and
//! time by the server's I/O loop, forwarding Opus frames as each call's [`Plan`] says.
//!
//! Sans-I/O like the core: nothing here owns a socket or reads a clock. The shell calls
//! [`Sfu::handle_receive`] and [`Sfu::handle_timeout`], then drains
//! [`Sfu::poll_transmit`] and [`Sfu::poll_event`], and sleeps until [`Sfu::next_timeout`].
//!
//! Each browser offers one send-receive audio transceiver (its microphone) and
//! `slots - 1` receive-only ones. Every m-line the server may send on is a *slot*; a
//! receiver's slots are given to the sources it hears, and a source keeps its slot while
//! it is heard, so a transfer only changes what a slot carries: no renegotiation. A
//! slot's RTP time runs on continuously across a change of source.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::format::{Codec, CodecExtra, FormatParams};
use str0m::media::{Frequency, MediaTime, Mid, TelephoneEvent};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

mod peers;

use peers::{PeerId, Peers};

use crate::ogg_writer::OggOpusWriter;
use crate::plan::{AgentState, CallState, Party, Plan, Source, plan};
use crate::{MediaError, ogg};

/// One Opus frame of the hold music and of a browser's microphone: 20 ms at 48 kHz.
const FRAME: Duration = Duration::from_millis(20);
const FRAME_TICKS: u64 = 960;
/// The payload type offered for `telephone-event/48000` (a browser's offer may differ;
/// str0m answers with the browser's number).
const TELEPHONE_EVENT_PT: u8 = 110;

/// Limits and addresses of the media plane (`[media]` in baton.toml).
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The host candidates given to browsers: the addresses (and the one UDP port) the
    /// server's media sockets are bound to.
    pub candidates: Vec<SocketAddr>,
    /// Peer connections at most; an offer beyond is refused (`MediaError::TooManyPeers`).
    pub max_peers: usize,
    /// Audio m-lines a browser offers; a receiver hears at most `slots` others at once.
    pub slots: usize,
    /// New calls are recorded from their first audio (`[media] record_calls`).
    pub record_calls: bool,
    /// A party's recording file is closed at this size and a new one begun.
    pub max_recording_bytes: usize,
}

/// A party's peer connection: which call, which side.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey {
    /// The interaction id.
    pub call: String,
    pub party: Party,
}

/// What the shell is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// ICE and DTLS are up: media flows.
    Connected(PeerKey),
    /// ICE consent was lost or DTLS failed: the browser is gone (docs/voice.md, faults).
    Lost(PeerKey),
    /// An RFC 4733 digit ended on this party's stream. It was forwarded (as a complete
    /// event) to `heard_by`: the parties who hear this party now, by the call's plan.
    Dtmf {
        peer: PeerKey,
        digit: char,
        heard_by: Vec<Party>,
    },
    /// `setCallMute` changed this party's mute (the interaction carries it: `callMuted`).
    Muted { peer: PeerKey, muted: bool },
    /// The call started or stopped being recorded, by an agent or by the recording policy
    /// (the interaction carries it: `callRecording`). Not sent when the call itself ended.
    RecordingChanged { call: String, on: bool },
    /// A party's recording file was closed (recording turned off, the call ended, the
    /// party left it, or the file reached its size limit): the shell stores it.
    Recorded(Recording),
}

/// One party's audio on a call as an Ogg Opus file (docs/voice.md, "Recording").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub peer: PeerKey,
    /// The Ogg Opus file.
    pub ogg: Vec<u8>,
    pub packets: u64,
    pub duration_ms: u64,
}

/// A call being recorded: one writer per party that sent audio.
#[derive(Debug, Default)]
struct CallRecording {
    /// `setCallRecordingMute`: nothing is written while set.
    muted: bool,
    writers: HashMap<Party, OggOpusWriter>,
    /// Files begun, for each file's Ogg serial number.
    files: u32,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// One m-line the server sends on, and what it carries now.
#[derive(Debug)]
struct Slot {
    mid: Mid,
    source: Option<Source>,
    /// The source and RTP time (48 kHz) of the last frame written, to carry time on.
    last_in: Option<(Source, u64)>,
    next_out: u64,
    /// The next hold-music packet, while the slot carries hold music.
    hold_at: usize,
}

struct Peer {
    key: PeerKey,
    rtc: Rtc,
    /// The m-line the browser's microphone arrives on.
    mic: Option<Mid>,
    slots: Vec<Slot>,
    /// When `rtc` next wants `Input::Timeout`.
    due: Instant,
    connected: bool,
    /// The RFC 4733 event whose end was already reported (events repeat their end packet).
    last_dtmf: Option<u64>,
    /// Where its datagrams came from, as far as [`Peers`] remembers (its routing index).
    addresses: Vec<SocketAddr>,
}

/// The forwarding unit of one server.
pub struct Sfu {
    config: SfuConfig,
    hold_music: Arc<Vec<Vec<u8>>>,
    peers: Peers,
    calls: HashMap<String, CallState>,
    plans: HashMap<String, Plan>,
    /// Mutes by call: the core does not keep them; they end with the call.
    muted: HashMap<String, BTreeSet<Party>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    next_hold_tick: Option<Instant>,
    /// Calls being recorded.
    recordings: HashMap<String, CallRecording>,
}

impl Sfu {
    /// `hold_music` is an Ogg Opus file of 20 ms packets.
    pub fn new(config: SfuConfig, hold_music: &[u8]) -> Result<Self, MediaError> {
        if config.candidates.is_empty() {
            return Err(MediaError::NoCandidates);
        }
        Ok(Self {
            config,
            hold_music: Arc::new(ogg::opus_packets(hold_music)?),
            peers: Peers::default(),
            calls: HashMap::new(),
            plans: HashMap::new(),
            muted: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_hold_tick: None,
            recordings: HashMap::new(),
        })
    }

    /// The call's state changed in the core (`None`: it ended or is no longer a call).
    /// Peers of parties no longer on it are closed.
    pub fn set_call(&mut self, now: Instant, call: &str, state: Option<CallState>) {
        match state {
            Some(mut state) => {
                state.muted = self.muted.get(call).cloned().unwrap_or_default();
                let record = state.record.unwrap_or(self.config.record_calls);
                let new = self.calls.insert(call.to_owned(), state).is_none();
                if new && record {
                    self.start_recording(call);
                }
            }
            None => {
                self.calls.remove(call);
                self.muted.remove(call);
                self.stop_recording(call, false);
            }
        }
        // Parties who left the call: their recording file is complete.
        if let (Some(state), Some(rec)) = (self.calls.get(call), self.recordings.get_mut(call)) {
            let gone: Vec<Party> = rec
                .writers
                .keys()
                .filter(|p| !is_party(state, p))
                .cloned()
                .collect();
            for party in gone {
                if let Some(w) = rec.writers.remove(&party) {
                    close_file(&mut self.events, call, party, w);
                }
            }
        }
        for id in self.peers.of_call(call) {
            let Some(p) = self.peers.get(id) else {
                continue;
            };
            let keep = self
                .calls
                .get(call)
                .is_some_and(|s| is_party(s, &p.key.party));
            if !keep && let Some(mut p) = self.peers.remove(id) {
                tracing::debug!(call, party = %p.key.party, "media peer closed: no longer on the call");
                p.rtc.disconnect();
            }
        }
        self.replan(now, call);
    }

    /// `setCallMute`: the party's microphone is (not) forwarded.
    pub fn set_muted(
        &mut self,
        now: Instant,
        call: &str,
        party: &Party,
        muted: bool,
    ) -> Result<(), MediaError> {
        let state = self.calls.get_mut(call).ok_or(MediaError::NotInCall)?;
        if !is_party(state, party) {
            return Err(MediaError::NotInCall);
        }
        let set = self.muted.entry(call.to_owned()).or_default();
        let changed = if muted {
            set.insert(party.clone())
        } else {
            set.remove(party)
        };
        state.muted = set.clone();
        self.replan(now, call);
        if changed {
            self.events.push_back(MediaEvent::Muted {
                peer: PeerKey {
                    call: call.to_owned(),
                    party: party.clone(),
                },
                muted,
            });
        }
        Ok(())
    }

    /// `setCallRecording`: starts or stops recording the call. Stopping closes every
    /// party's file (each comes out as a [`MediaEvent::Recorded`]).
    pub fn set_recording(&mut self, call: &str, on: bool) -> Result<(), MediaError> {
        if !self.calls.contains_key(call) {
            return Err(MediaError::NotInCall);
        }
        if on {
            self.start_recording(call);
        } else {
            self.stop_recording(call, true);
        }
        Ok(())
    }

    /// `setCallRecordingMute`: pauses (or resumes) a recording; the pause is a gap in
    /// the files' timeline, so a file's duration stays the call's.
    pub fn set_recording_muted(&mut self, call: &str, muted: bool) -> Result<(), MediaError> {
        let rec = self
            .recordings
            .get_mut(call)
            .ok_or(MediaError::NotRecording)?;
        rec.muted = muted;
        Ok(())
    }

    /// Whether the call is being recorded, and whether the recording is muted.
    pub fn recording_of(&self, call: &str) -> Option<bool> {
        self.recordings.get(call).map(|r| r.muted)
    }

    fn start_recording(&mut self, call: &str) {
        if !self.recordings.contains_key(call) {
            self.recordings
                .insert(call.to_owned(), CallRecording::default());
            self.events.push_back(MediaEvent::RecordingChanged {
                call: call.to_owned(),
                on: true,
            });
        }
    }

    /// `announce`: the call goes on, so the interaction is told it is no longer recorded.
    fn stop_recording(&mut self, call: &str, announce: bool) {
        if let Some(rec) = self.recordings.remove(call) {
            if announce {
                self.events.push_back(MediaEvent::RecordingChanged {
                    call: call.to_owned(),
                    on: false,
                });
            }
            let mut writers: Vec<_> = rec.writers.into_iter().collect();
            writers.sort_by(|a, b| a.0.cmp(&b.0));
            for (party, w) in writers {
                close_file(&mut self.events, call, party, w);
            }
        }
    }

    /// Whether the party is live on the call (connected or holding).
    pub fn is_on_call(&self, call: &str, party: &Party) -> bool {
        self.calls.get(call).is_some_and(|s| is_party(s, party))
    }

    /// Whether the party is muted on the call.
    pub fn is_muted(&self, call: &str, party: &Party) -> bool {
        self.muted.get(call).is_some_and(|m| m.contains(party))
    }

    /// The receivers and what they hear now (for tests and the operator's view).
    pub fn plan_of(&self, call: &str) -> Option<&Plan> {
        self.plans.get(call)
    }

    /// A browser's offer: a new peer connection for this party (replacing any it had).
    /// Answers the SDP of the server's side (ICE-lite, DTLS-SRTP, host candidates).
    pub fn accept_offer(
        &mut self,
        now: Instant,
        key: PeerKey,
        offer: &str,
    ) -> Result<String, MediaError> {
        let state = self.calls.get(&key.call).ok_or(MediaError::NotInCall)?;
        if !is_party(state, &key.party) {
            return Err(MediaError::NotInCall);
        }
        let replacing = self.peers.id_of(&key);
        if replacing.is_none() && self.peers.len() >= self.config.max_peers {
            return Err(MediaError::TooManyPeers(self.config.max_peers));
        }
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let mut config = Rtc::builder()
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false);
        // RFC 4733 events at Opus's clock rate: what a browser's RTCDTMFSender sends.
        config.codec_config().add_config(
            TELEPHONE_EVENT_PT.into(),
            None,
            Codec::Tele,
            Frequency::FORTY_EIGHT_KHZ,
            None,
            FormatParams::parse_line("0-16"),
        );
        let mut rtc = config.build(now);
        for addr in &self.config.candidates {
            let c = Candidate::host(*addr, "udp").map_err(|e| MediaError::BadSdp(e.to_string()))?;
            rtc.add_local_candidate(c);
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let mut peer = Peer {
            key: key.clone(),
            rtc,
            mic: None,
            slots: Vec::new(),
            due: now,
            connected: false,
            last_dtmf: None,
            addresses: Vec::new(),
        };
        // Which m-lines carry what, from the server's side: str0m tells `MediaAdded` only
        // once DTLS is up, and the slots are needed before.
        let answer_sdp = answer.to_sdp_string();
        for (mid, receiving, sending) in audio_lines(&answer_sdp) {
            if receiving && peer.mic.is_none() {
                peer.mic = Some(mid);
            }
            if sending {
                peer.slots.push(Slot {
                    mid,
                    source: None,
                    last_in: None,
                    next_out: u64::from(first_rtp_time(&peer.key)),
                    hold_at: 0,
                });
            }
        }
        if peer.mic.is_none() || peer.slots.is_empty() {
            return Err(MediaError::BadSdp(
                "the offer needs a send-receive audio m-line (the microphone)".into(),
            ));
        }
        peer.slots.truncate(self.config.slots);
        if let Some(mut old) = replacing.and_then(|id| self.peers.remove(id)) {
            old.rtc.disconnect();
        }
        self.peers.insert(peer);
        let call = key.call.clone();
        self.replan(now, &call);
        Ok(answer_sdp)
    }

    /// A trickled browser candidate. ICE-lite learns the browser's address from its checks,
    /// so this is optional; a malformed one is refused.
    pub fn add_remote_candidate(&mut self, key: &PeerKey, line: &str) -> Result<(), MediaError> {
        let peer = self
            .peers
            .id_of(key)
            .and_then(|id| self.peers.get_mut(id))
            .ok_or(MediaError::NoPeer)?;
        let line = line.strip_prefix("a=").unwrap_or(line);
        let c = Candidate::from_sdp_string(line)
            .map_err(|e| MediaError::BadCandidate(e.to_string()))?;
        peer.rtc.add_remote_candidate(c);
        Ok(())
    }

    /// The party hung up its peer connection (or its socket closed); `call: None` closes
    /// the party's connections on every call (an agent's socket closed).
    pub fn close_peer(&mut self, call: Option<&str>, party: &Party) {
        let ids = match call {
            Some(call) => self
                .peers
                .id_of(&PeerKey {
                    call: call.to_owned(),
                    party: party.clone(),
                })
                .into_iter()
                .collect(),
            None => self.peers.of_party(party),
        };
        for id in ids {
            if let Some(mut p) = self.peers.remove(id) {
                p.rtc.disconnect();
            }
        }
    }

    /// Live peer connections.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// A datagram arrived on `destination` (one of the candidates) from `source`.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        datagram: &[u8],
    ) {
        let Some(&first_byte) = datagram.first() else {
            return;
        };
        let Ok(contents) = datagram.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        let Some(id) = self.peers.route(source, first_byte, &input) else {
            tracing::trace!(%source, "no media peer accepts this datagram");
            return;
        };
        if let Some(p) = self.peers.get_mut(id)
            && let Err(e) = p.rtc.handle_input(input)
        {
            tracing::debug!(error = %e, party = %p.key.party, "media input refused");
        }
        self.drive(now, vec![id]);
    }

    /// Time passed: timers of peers that are due, and the hold music's next frame.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = self.peers.due(now);
        for &id in &due {
            if let Some(p) = self.peers.get_mut(id)
                && let Err(e) = p.rtc.handle_input(Input::Timeout(now))
            {
                tracing::debug!(error = %e, party = %p.key.party, "media timeout refused");
            }
        }
        if self.next_hold_tick.is_some_and(|t| t <= now) {
            due.extend(self.play_hold_music(now));
        }
        self.drive(now, due);
    }

    /// When to call [`Sfu::handle_timeout`] next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.peers
            .next_due()
            .into_iter()
            .chain(self.next_hold_tick)
            .min()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Polls the given peers until they are quiet, forwarding the frames they received,
    /// which makes the receivers' peers busy in turn. Peers found dead are dropped.
    fn drive(&mut self, now: Instant, mut busy: Vec<PeerId>) {
        let mut forwards: Vec<(PeerId, str0m::media::MediaData)> = Vec::new();
        let mut tones: Vec<(PeerId, TelephoneEvent)> = Vec::new();
        let mut polled = BTreeSet::new();
        while !busy.is_empty() {
            busy.sort_unstable();
            busy.dedup();
            for &i in &busy {
                let Some(peer) = self.peers.get_mut(i) else {
                    continue;
                };
                let was = peer.due;
                let mut got = Vec::new();
                let mut ended = Vec::new();
                poll_peer(
                    peer,
                    now,
                    &mut self.transmits,
                    &mut self.events,
                    &mut got,
                    &mut ended,
                );
                self.peers.reschedule(i, was);
                polled.insert(i);
                forwards.extend(got.into_iter().map(|d| (i, d)));
                tones.extend(ended.into_iter().map(|t| (i, t)));
            }
            busy.clear();
            for (from, data) in forwards.drain(..) {
                busy.extend(self.forward(now, from, &data));
            }
            for (from, tone) in tones.drain(..) {
                busy.extend(self.forward_dtmf(now, from, tone));
            }
        }
        for id in polled {
            if self.peers.get(id).is_some_and(|p| !p.rtc.is_alive()) {
                self.peers.remove(id);
            }
        }
    }

    /// Writes one received frame into every slot that carries its sender.
    fn forward(
        &mut self,
        now: Instant,
        from: PeerId,
        data: &str0m::media::MediaData,
    ) -> Vec<PeerId> {
        let Some(sender) = self.peers.get(from) else {
            return Vec::new();
        };
        if Some(data.mid) != sender.mic {
            return Vec::new();
        }
        let call = sender.key.call.clone();
        let source = Source::Party(sender.key.party.clone());
        if data.params.spec().codec == Codec::Opus {
            self.record(&call, &sender.key.party.clone(), data);
            let mut written = Vec::new();
            for i in self.peers.of_call(&call) {
                let Some(p) = self.peers.get_mut(i) else {
                    continue;
                };
                if i == from || !p.connected {
                    continue;
                }
                if let Some(slot) = p
                    .slots
                    .iter_mut()
                    .position(|s| s.source.as_ref() == Some(&source))
                {
                    let time = data.time.rebase(Frequency::FORTY_EIGHT_KHZ).numer();
                    if write_frame(
                        &mut p.rtc,
                        &mut p.slots[slot],
                        &source,
                        time,
                        now,
                        &data.data,
                    ) {
                        written.push(i);
                    }
                }
            }
            return written;
        }
        Vec::new()
    }

    /// A digit that ended on a party's stream goes, as one complete RFC 4733 event, to every
    /// receiver that hears that party now (the plan's rules: not while the party is muted,
    /// not to a side on hold), on the slot that carries the party. The shell is told who
    /// heard it, to deliver the digit as an event too (browsers cannot surface received
    /// DTMF).
    fn forward_dtmf(&mut self, now: Instant, from: PeerId, tone: TelephoneEvent) -> Vec<PeerId> {
        const DIGITS: &[u8; 16] = b"0123456789*#ABCD";
        let Some(digit) = DIGITS.get(tone.event as usize).map(|d| *d as char) else {
            return Vec::new();
        };
        let Some(sender) = self.peers.get(from).map(|p| p.key.clone()) else {
            return Vec::new();
        };
        let source = Source::Party(sender.party.clone());
        let heard_by: Vec<Party> = self
            .plans
            .get(&sender.call)
            .map(|plan| {
                plan.iter()
                    .filter(|(_, heard)| heard.contains(&source))
                    .map(|(party, _)| party.clone())
                    .collect()
            })
            .unwrap_or_default();
        // str0m sends an event of 40 ms to 6 s; a browser's tones are 40 ms at least.
        let event = TelephoneEvent {
            duration: tone
                .duration
                .clamp(Duration::from_millis(40), Duration::from_secs(6)),
            end: true,
            ..tone
        };
        let mut written = Vec::new();
        for i in self.peers.of_call(&sender.call) {
            let Some(p) = self.peers.get_mut(i) else {
                continue;
            };
            if i == from || !p.connected {
                continue;
            }
            if !heard_by.contains(&p.key.party) {
                continue;
            }
            let Some(slot) = p.slots.iter().find(|s| s.source.as_ref() == Some(&source)) else {
                continue;
            };
            let at = MediaTime::new(slot.next_out, Frequency::FORTY_EIGHT_KHZ);
            let Some(writer) = p.rtc.writer(slot.mid) else {
                continue;
            };
            let Some(pt) = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::Opus)
                .map(|p| p.pt())
            else {
                continue;
            };
            match writer.telephone_event(event).write(pt, now, at, Vec::new()) {
                Ok(()) => written.push(i),
                // A receiver that did not negotiate telephone-event still gets the event.
                Err(e) => tracing::debug!(error = %e, "DTMF not forwarded on this slot"),
            }
        }
        self.events.push_back(MediaEvent::Dtmf {
            peer: sender,
            digit,
            heard_by,
        });
        written
    }

    /// Appends a received frame to the party's recording, if the call is recorded and
    /// neither the recording nor the party is muted.
    fn record(&mut self, call: &str, party: &Party, data: &str0m::media::MediaData) {
        let Some(rec) = self.recordings.get_mut(call) else {
            return;
        };
        if rec.muted || self.muted.get(call).is_some_and(|m| m.contains(party)) {
            return;
        }
        let time = data.time.rebase(Frequency::FORTY_EIGHT_KHZ).numer();
        let writer = rec.writers.entry(party.clone()).or_insert_with(|| {
            rec.files += 1;
            OggOpusWriter::new(rec.files)
        });
        writer.push(time, &data.data);
        if writer.len() >= self.config.max_recording_bytes
            && let Some(full) = rec.writers.remove(party)
        {
            close_file(&mut self.events, call, party.clone(), full);
        }
    }

    /// Writes the next hold-music packet into every slot that carries it.
    fn play_hold_music(&mut self, now: Instant) -> Vec<PeerId> {
        let mut written = Vec::new();
        let music = self.hold_music.clone();
        for i in self.peers.hearing_hold_music() {
            let Some(p) = self.peers.get_mut(i) else {
                continue;
            };
            if !p.connected {
                continue;
            }
            for slot in p
                .slots
                .iter_mut()
                .filter(|s| s.source == Some(Source::HoldMusic))
            {
                let packet = &music[slot.hold_at % music.len()];
                slot.hold_at = (slot.hold_at + 1) % music.len();
                let time = slot
                    .last_in
                    .as_ref()
                    .filter(|(s, _)| *s == Source::HoldMusic)
                    .map_or(0, |(_, t)| t + FRAME_TICKS);
                if write_frame(&mut p.rtc, slot, &Source::HoldMusic, time, now, packet) {
                    written.push(i);
                }
            }
        }
        self.next_hold_tick = self.peers.any_hears_hold_music().then(|| {
            // Keep the 20 ms cadence from the previous tick, not from when we woke.
            let prev = self.next_hold_tick.unwrap_or(now);
            let next = prev + FRAME;
            if next + FRAME < now {
                now + FRAME
            } else {
                next
            }
        });
        written
    }

    /// Recomputes the call's plan and gives each receiver's slots to what it hears.
    fn replan(&mut self, now: Instant, call: &str) {
        let Some(state) = self.calls.get(call) else {
            self.plans.remove(call);
            return;
        };
        let plan = plan(state);
        for id in self.peers.of_call(call) {
            let Some(p) = self.peers.get_mut(id) else {
                continue;
            };
            let heard = plan.get(&p.key.party).cloned().unwrap_or_default();
            assign_slots(&mut p.slots, &heard, &p.key);
            let hears_hold_music = p.slots.iter().any(|s| s.source == Some(Source::HoldMusic));
            self.peers.set_hears_hold_music(id, hears_hold_music);
        }
        self.plans.insert(call.to_owned(), plan);
        if self.next_hold_tick.is_none() && self.peers.any_hears_hold_music() {
            self.next_hold_tick = Some(now);
        }
    }
}

/// Whether the party is live on the call and so may have audio: the customer while
/// connected, an agent while connected or holding (not ringing, not in wrap-up).
fn is_party(state: &CallState, party: &Party) -> bool {
    match party {
        Party::Customer => state.customer_connected,
        Party::Agent(a) => state
            .agents
            .iter()
            .any(|p| &p.agent == a && matches!(p.state, AgentState::Connected | AgentState::Hold)),
    }
}

/// Sources that are no longer heard free their slots; new ones take the lowest free slot.
/// Sources already placed keep theirs (a transfer changes what a slot carries, not which).
fn assign_slots(slots: &mut [Slot], heard: &BTreeSet<Source>, key: &PeerKey) {
    for s in slots.iter_mut() {
        if s.source.as_ref().is_some_and(|src| !heard.contains(src)) {
            s.source = None;
        }
    }
    for src in heard {
        if slots.iter().any(|s| s.source.as_ref() == Some(src)) {
            continue;
        }
        match slots.iter_mut().find(|s| s.source.is_none()) {
            Some(free) => {
                free.source = Some(src.clone());
                free.hold_at = 0;
            }
            None => {
                tracing::warn!(party = %key.party, call = key.call, "more sources than audio slots; one is not heard")
            }
        }
    }
}

/// Writes a frame into a slot, keeping the slot's RTP time continuous. `true` if written.
fn write_frame(
    rtc: &mut Rtc,
    slot: &mut Slot,
    source: &Source,
    time: u64,
    now: Instant,
    payload: &[u8],
) -> bool {
    let out = match &slot.last_in {
        Some((s, last)) if s == source && time > *last && time - last < 48_000 => {
            slot.next_out + (time - last) - FRAME_TICKS
        }
        Some((s, last)) if s == source && time <= *last => return false, // late or repeated
        _ => slot.next_out,
    };
    slot.last_in = Some((source.clone(), time));
    slot.next_out = out + FRAME_TICKS;
    let Some(writer) = rtc.writer(slot.mid) else {
        return false;
    };
    let Some(pt) = writer
        .payload_params()
        .find(|p| p.spec().codec == Codec::Opus)
        .map(|p| p.pt())
    else {
        return false;
    };
    let at = MediaTime::new(out, Frequency::FORTY_EIGHT_KHZ);
    match writer.write(pt, now, at, payload.to_vec()) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "media write refused");
            false
        }
    }
}

/// Polls one peer until it only has a timeout left.
fn poll_peer(
    peer: &mut Peer,
    now: Instant,
    transmits: &mut VecDeque<Transmit>,
    events: &mut VecDeque<MediaEvent>,
    received: &mut Vec<str0m::media::MediaData>,
    tones: &mut Vec<TelephoneEvent>,
) {
    loop {
        if !peer.rtc.is_alive() {
            peer.due = now + Duration::from_secs(3600);
            return;
        }
        let out = match peer.rtc.poll_output() {
            Ok(out) => out,
            Err(e) => {
                tracing::info!(error = %e, party = %peer.key.party, "media peer failed");
                lose(peer, events);
                continue;
            }
        };
        match out {
            Output::Timeout(t) => {
                peer.due = t;
                return;
            }
            Output::Transmit(t) => transmits.push_back(Transmit {
                source: t.source,
                destination: t.destination,
                contents: t.contents.to_vec(),
            }),
            Output::Event(e) => match e {
                Event::Connected => {
                    peer.connected = true;
                    events.push_back(MediaEvent::Connected(peer.key.clone()));
                }
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    lose(peer, events);
                }
                Event::MediaData(d) => {
                    if d.params.spec().codec == Codec::Opus {
                        received.push(d);
                    } else if let CodecExtra::Tele(e) = d.codec_extra
                        && dtmf_end(e.end, d.time.numer(), &mut peer.last_dtmf)
                    {
                        tones.push(e);
                    }
                }
                _ => {}
            },
        }
    }
}

/// A party's recording file is complete: it goes to the shell (an empty one is dropped).
fn close_file(events: &mut VecDeque<MediaEvent>, call: &str, party: Party, w: OggOpusWriter) {
    if w.is_empty() {
        return;
    }
    let (packets, duration_ms) = (w.packets(), w.duration_ms());
    events.push_back(MediaEvent::Recorded(Recording {
        peer: PeerKey {
            call: call.to_owned(),
            party,
        },
        ogg: w.finish(),
        packets,
        duration_ms,
    }));
}

fn lose(peer: &mut Peer, events: &mut VecDeque<MediaEvent>) {
    if peer.rtc.is_alive() {
        peer.rtc.disconnect();
        events.push_back(MediaEvent::Lost(peer.key.clone()));
    }
}

/// A slot's first RTP time: not zero, so that streams of different slots do not line up
/// by accident (it carries no security meaning).
fn first_rtp_time(key: &PeerKey) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as u32) & 0x00ff_ffff
}

/// The audio m-lines of an SDP as `(mid, server receives, server sends)`, rejected ones
/// (port 0) left out.
fn audio_lines(sdp: &str) -> Vec<(Mid, bool, bool)> {
    let mut out = Vec::new();
    for section in sdp.split("\r\nm=").skip(1) {
        if !section.starts_with("audio ") || section.starts_with("audio 0 ") {
            continue;
        }
        let mut mid = None;
        let (mut receiving, mut sending) = (true, true);
        for line in section.lines() {
            match line.trim_end() {
                l if l.starts_with("a=mid:") => mid = Some(Mid::from(&l[6..])),
                "a=sendonly" => receiving = false,
                "a=recvonly" => sending = false,
                "a=inactive" => (receiving, sending) = (false, false),
                _ => {}
            }
        }
        if let Some(mid) = mid {
            out.push((mid, receiving, sending));
        }
    }
    out
}

/// Whether this RFC 4733 report is the end of an event, once per event: the end report is
/// sent three times, all with the event's RTP time.
fn dtmf_end(end: bool, time: u64, last: &mut Option<u64>) -> bool {
    if !end || *last == Some(time) {
        return false;
    }
    *last = Some(time);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_digits_are_reported_once_at_their_end() {
        let mut last = None;
        assert!(!dtmf_end(false, 1000, &mut last));
        assert!(dtmf_end(true, 1000, &mut last));
        // The end report is sent three times.
        assert!(!dtmf_end(true, 1000, &mut last));
        assert!(dtmf_end(true, 2000, &mut last));
    }

    fn slot(mid: &str) -> Slot {
        Slot {
            mid: Mid::from(mid),
            source: None,
            last_in: None,
            next_out: 1000,
            hold_at: 0,
        }
    }

    #[test]
    fn a_transfer_reuses_the_slot_and_sources_keep_theirs() {
        let key = PeerKey {
            call: "c".into(),
            party: Party::Customer,
        };
        let mut slots = vec![slot("0"), slot("1"), slot("2")];
        let ann = Source::Party(Party::Agent("ann".into()));
        let bob = Source::Party(Party::Agent("bob".into()));
        let cat = Source::Party(Party::Agent("cat".into()));
        assign_slots(&mut slots, &BTreeSet::from([ann.clone()]), &key);
        assert_eq!(slots[0].source, Some(ann.clone()));
        assign_slots(
            &mut slots,
            &BTreeSet::from([ann.clone(), cat.clone()]),
            &key,
        );
        assert_eq!(slots[0].source, Some(ann.clone()));
        assert_eq!(slots[1].source, Some(cat.clone()));
        // ann leaves, bob comes: bob takes ann's slot, cat stays where it was.
        assign_slots(
            &mut slots,
            &BTreeSet::from([bob.clone(), cat.clone()]),
            &key,
        );
        assert_eq!(slots[0].source, Some(bob));
        assert_eq!(slots[1].source, Some(cat));
        assert_eq!(slots[2].source, None);
        assign_slots(&mut slots, &BTreeSet::new(), &key);
        assert!(slots.iter().all(|s| s.source.is_none()));
    }
}
