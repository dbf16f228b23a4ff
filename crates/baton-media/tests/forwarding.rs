//! The SFU between str0m clients that behave like browsers (one send-receive audio m-line,
//! the rest receive-only), on a simulated clock and network: no sockets. Each client tags
//! its "microphone" frames with its own byte, so a receiver can tell whom it hears.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use baton_media::{
    AgentParty, AgentRole, AgentState, CallState, HOLD_MUSIC, MediaError, MediaEvent, Party,
    PeerKey, Recording, Sfu, SfuConfig, ogg,
};
use str0m::change::SdpAnswer;
use str0m::format::{Codec, CodecExtra, FormatParams};
use str0m::media::TelephoneEvent;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const SERVER: &str = "10.0.0.1:40000";
const CALL: &str = "call-1";

struct Client {
    addr: SocketAddr,
    rtc: Rtc,
    mic: Mid,
    tag: u8,
    /// Frames heard since the last `take_heard`, by first payload byte.
    heard: BTreeMap<u8, usize>,
    hold_frames: usize,
    sent: u64,
    connected: bool,
    /// RFC 4733 events received (their end, once each), as (RTP time, event).
    tones: Vec<(u64, u8)>,
}

struct World {
    now: Instant,
    sfu: Sfu,
    clients: HashMap<PeerKey, Client>,
    hold: Vec<Vec<u8>>,
    next_port: u16,
}

fn server() -> SocketAddr {
    SERVER.parse().unwrap()
}

/// The party's peer on [`CALL`].
fn on_call(party: Party) -> PeerKey {
    PeerKey {
        call: CALL.into(),
        party,
    }
}

impl World {
    fn new() -> Self {
        let config = SfuConfig {
            candidates: vec![server()],
            max_peers: 8,
            slots: 3,
            record_calls: false,
            max_recording_bytes: 1 << 20,
        };
        Self {
            now: Instant::now(),
            sfu: Sfu::new(config, HOLD_MUSIC).unwrap(),
            clients: HashMap::new(),
            hold: hold_packets(),
            next_port: 50000,
        }
    }

    fn set_call(&mut self, state: CallState) {
        self.sfu.set_call(self.now, CALL, Some(state));
    }

    /// A browser of `party` on [`CALL`] offers and is answered.
    fn join(&mut self, party: Party, tag: u8) -> Result<(), MediaError> {
        self.join_on(on_call(party), tag)
    }

    /// A browser of `key.party` on `key.call` offers and is answered.
    fn join_on(&mut self, key: PeerKey, tag: u8) -> Result<(), MediaError> {
        self.next_port += 1;
        let addr: SocketAddr = format!("10.0.1.{tag}:{}", self.next_port).parse().unwrap();
        let mut config = Rtc::builder().clear_codecs().enable_opus(true, false);
        config.codec_config().add_config(
            101.into(),
            None,
            Codec::Tele,
            Frequency::FORTY_EIGHT_KHZ,
            None,
            FormatParams::parse_line("0-16"),
        );
        let mut rtc = config.build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mic = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let answer = self
            .sfu
            .accept_offer(self.now, key.clone(), &offer.to_sdp_string())?;
        rtc.sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
            .unwrap();
        self.clients.insert(
            key,
            Client {
                addr,
                rtc,
                mic,
                tag,
                heard: BTreeMap::new(),
                hold_frames: 0,
                sent: 0,
                connected: false,
                tones: Vec::new(),
            },
        );
        Ok(())
    }

    /// Runs the simulated network for `ms`, every client speaking a frame each 20 ms.
    fn run(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        let mut next_frame = self.now;
        while self.now < end {
            if self.now >= next_frame {
                for c in self.clients.values_mut() {
                    if !c.connected {
                        continue;
                    }
                    let w = c.rtc.writer(c.mic).unwrap();
                    let pt = w
                        .payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .unwrap()
                        .pt();
                    let t = MediaTime::new(c.sent * 960, Frequency::FORTY_EIGHT_KHZ);
                    w.write(pt, self.now, t, vec![c.tag, 1, 2, 3]).unwrap();
                    c.sent += 1;
                }
                next_frame += Duration::from_millis(20);
            }
            self.exchange();
            self.now += Duration::from_millis(5);
            self.sfu.handle_timeout(self.now);
            for c in self.clients.values_mut() {
                c.rtc.handle_input(Input::Timeout(self.now)).unwrap();
            }
        }
    }

    /// Delivers every datagram in flight until nobody has anything to send.
    fn exchange(&mut self) {
        loop {
            let mut moved = false;
            let mut to_server = Vec::new();
            for c in self.clients.values_mut() {
                while let Ok(out) = c.rtc.poll_output() {
                    match out {
                        Output::Timeout(_) => break,
                        Output::Transmit(t) => {
                            assert_eq!(t.destination, server());
                            to_server.push((t.source, t.contents.to_vec()));
                        }
                        Output::Event(Event::Connected) => c.connected = true,
                        Output::Event(Event::MediaData(d))
                            if d.params.spec().codec == Codec::Tele =>
                        {
                            if let CodecExtra::Tele(e) = d.codec_extra
                                && e.end
                                && !c.tones.contains(&(d.time.numer(), e.event))
                            {
                                c.tones.push((d.time.numer(), e.event));
                            }
                        }
                        Output::Event(Event::MediaData(d)) => {
                            if self.hold.contains(&d.data.to_vec()) {
                                c.hold_frames += 1;
                            } else if let Some(first) = d.data.first() {
                                *c.heard.entry(*first).or_default() += 1;
                            }
                        }
                        Output::Event(_) => {}
                    }
                }
            }
            for (from, bytes) in to_server {
                moved = true;
                self.sfu.handle_receive(self.now, from, server(), &bytes);
            }
            while let Some(t) = self.sfu.poll_transmit() {
                moved = true;
                if let Some(c) = self.clients.values_mut().find(|c| c.addr == t.destination) {
                    let input = Input::Receive(
                        self.now,
                        Receive {
                            proto: Protocol::Udp,
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents.as_slice().try_into().unwrap(),
                        },
                    );
                    c.rtc.handle_input(input).unwrap();
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Which tags `party` heard since last asked, with how many frames; and hold frames.
    fn take_heard(&mut self, party: &Party) -> (Vec<u8>, usize) {
        let c = self.clients.get_mut(&on_call(party.clone())).unwrap();
        // A source is heard if most of the period's frames came through (not a stray one
        // from just before a change).
        let tags = c
            .heard
            .iter()
            .filter(|(_, n)| **n >= 10)
            .map(|(t, _)| *t)
            .collect();
        let hold = c.hold_frames;
        c.heard.clear();
        c.hold_frames = 0;
        (tags, hold)
    }
}

fn hold_packets() -> Vec<Vec<u8>> {
    // The same parse the SFU makes, repeated here through the public file.
    let mut sfu_packets = Vec::new();
    let mut partial = Vec::new();
    let mut at = 0;
    while at < HOLD_MUSIC.len() {
        let n = HOLD_MUSIC[at + 26] as usize;
        let table = &HOLD_MUSIC[at + 27..at + 27 + n];
        let mut body = at + 27 + n;
        for &len in table {
            partial.extend_from_slice(&HOLD_MUSIC[body..body + len as usize]);
            body += len as usize;
            if len < 255 {
                sfu_packets.push(std::mem::take(&mut partial));
            }
        }
        at = body;
    }
    sfu_packets.split_off(2)
}

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

const CUSTOMER_TAG: u8 = 1;
const ANN_TAG: u8 = 2;
const BOB_TAG: u8 = 3;

fn call(on_hold: bool, agents: Vec<AgentParty>) -> CallState {
    CallState {
        customer_connected: true,
        customer_on_hold: on_hold,
        agents,
        muted: Default::default(),
        record: None,
    }
}

fn connected_world() -> World {
    let mut w = World::new();
    w.set_call(call(
        false,
        vec![agent("ann", AgentRole::Primary, AgentState::Connected)],
    ));
    w.join(Party::Customer, CUSTOMER_TAG).unwrap();
    w.join(a("ann"), ANN_TAG).unwrap();
    w.run(1000);
    let connected: Vec<_> = std::iter::from_fn(|| w.sfu.poll_event()).collect();
    assert!(connected.contains(&MediaEvent::Connected(PeerKey {
        call: CALL.into(),
        party: Party::Customer
    })));
    w.take_heard(&Party::Customer);
    w.take_heard(&a("ann"));
    w
}

#[test]
fn connected_then_hold_then_retrieve() {
    let mut w = connected_world();
    w.run(1000);
    assert_eq!(w.take_heard(&Party::Customer), (vec![ANN_TAG], 0));
    assert_eq!(w.take_heard(&a("ann")), (vec![CUSTOMER_TAG], 0));

    w.set_call(call(
        true,
        vec![agent("ann", AgentRole::Primary, AgentState::Hold)],
    ));
    w.run(1000);
    let (tags, hold) = w.take_heard(&Party::Customer);
    assert!(
        tags.is_empty(),
        "the customer hears no agent on hold: {tags:?}"
    );
    assert!(
        hold >= 40,
        "about 50 frames of hold music in a second, got {hold}"
    );
    assert_eq!(w.take_heard(&a("ann")), (vec![], 0));

    w.set_call(call(
        false,
        vec![agent("ann", AgentRole::Primary, AgentState::Connected)],
    ));
    w.run(1000);
    let (tags, hold) = w.take_heard(&Party::Customer);
    assert_eq!(tags, vec![ANN_TAG]);
    assert!(hold <= 2, "the music stops on retrieve: {hold}");
}

#[test]
fn mute_silences_only_the_muted_side() {
    let mut w = connected_world();
    w.sfu.set_muted(w.now, CALL, &a("ann"), true).unwrap();
    w.run(1000);
    assert_eq!(w.take_heard(&Party::Customer), (vec![], 0));
    assert_eq!(w.take_heard(&a("ann")), (vec![CUSTOMER_TAG], 0));
    w.sfu.set_muted(w.now, CALL, &a("ann"), false).unwrap();
    w.run(1000);
    assert_eq!(w.take_heard(&Party::Customer), (vec![ANN_TAG], 0));
    assert_eq!(
        w.sfu.set_muted(w.now, CALL, &a("nobody"), true),
        Err(MediaError::NotInCall)
    );
}

#[test]
fn consult_transfer_and_conference() {
    let mut w = connected_world();
    // Consult: ann holds the customer and talks to bob.
    w.set_call(call(
        true,
        vec![
            agent("ann", AgentRole::Primary, AgentState::Hold),
            agent("bob", AgentRole::Consult, AgentState::Connected),
        ],
    ));
    w.join(a("bob"), BOB_TAG).unwrap();
    w.run(1000);
    w.take_heard(&Party::Customer);
    w.take_heard(&a("ann"));
    w.take_heard(&a("bob"));
    w.run(1000);
    let (tags, hold) = w.take_heard(&Party::Customer);
    assert!(tags.is_empty() && hold >= 40, "{tags:?} {hold}");
    assert_eq!(w.take_heard(&a("ann")), (vec![BOB_TAG], 0));
    assert_eq!(w.take_heard(&a("bob")), (vec![ANN_TAG], 0));

    // Conference (merge): everyone hears everyone else, one slot per other party.
    w.set_call(call(
        false,
        vec![
            agent("ann", AgentRole::Primary, AgentState::Connected),
            agent("bob", AgentRole::Conference, AgentState::Connected),
        ],
    ));
    w.run(1000);
    w.take_heard(&Party::Customer);
    w.run(1000);
    assert_eq!(w.take_heard(&Party::Customer).0, vec![ANN_TAG, BOB_TAG]);
    assert_eq!(w.take_heard(&a("ann")).0, vec![CUSTOMER_TAG, BOB_TAG]);
    assert_eq!(w.take_heard(&a("bob")).0, vec![CUSTOMER_TAG, ANN_TAG]);

    // Transfer to bob: ann goes to wrap-up and her peer is no longer fed; the customer's
    // connection is not renegotiated.
    w.set_call(call(
        false,
        vec![
            agent("ann", AgentRole::Primary, AgentState::WrapUp),
            agent("bob", AgentRole::Primary, AgentState::Connected),
        ],
    ));
    w.run(500);
    w.take_heard(&Party::Customer);
    w.run(1000);
    assert_eq!(w.take_heard(&Party::Customer), (vec![BOB_TAG], 0));
    assert_eq!(w.take_heard(&a("bob")), (vec![CUSTOMER_TAG], 0));
    assert_eq!(w.take_heard(&a("ann")), (vec![], 0));
}

#[test]
fn offers_from_outsiders_and_bad_sdp_are_refused() {
    let mut w = World::new();
    // No call yet.
    assert_eq!(w.join(Party::Customer, 1), Err(MediaError::NotInCall));
    w.set_call(call(
        false,
        vec![agent("ann", AgentRole::Primary, AgentState::Connected)],
    ));
    assert_eq!(w.join(a("mallory"), 9), Err(MediaError::NotInCall));
    let key = PeerKey {
        call: CALL.into(),
        party: Party::Customer,
    };
    for bad in ["", "v=0", "not sdp at all\r\n", "v=0\r\nm=audio x"] {
        assert!(
            matches!(
                w.sfu.accept_offer(w.now, key.clone(), bad),
                Err(MediaError::BadSdp(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(w.sfu.peer_count(), 0);
    w.join(Party::Customer, 1).unwrap();
    assert!(matches!(
        w.sfu.add_remote_candidate(&key, "candidate:garbage"),
        Err(MediaError::BadCandidate(_))
    ));
    // Garbage datagrams are dropped, not fatal.
    w.sfu.handle_receive(
        w.now,
        "10.9.9.9:1".parse().unwrap(),
        server(),
        b"\x00\x01junk",
    );
    w.sfu
        .handle_receive(w.now, "10.9.9.9:1".parse().unwrap(), server(), &[]);
    // The call ends: its peers close.
    w.sfu.set_call(w.now, CALL, None);
    assert_eq!(w.sfu.peer_count(), 0);
}

#[test]
fn the_peer_limit_is_kept() {
    let mut w = World::new();
    let config = SfuConfig {
        candidates: vec![server()],
        max_peers: 1,
        slots: 3,
        record_calls: false,
        max_recording_bytes: 1 << 20,
    };
    w.sfu = Sfu::new(config, HOLD_MUSIC).unwrap();
    w.set_call(call(
        false,
        vec![agent("ann", AgentRole::Primary, AgentState::Connected)],
    ));
    w.join(Party::Customer, 1).unwrap();
    // The same party offering again replaces its connection.
    w.join(Party::Customer, 1).unwrap();
    assert_eq!(w.join(a("ann"), 2), Err(MediaError::TooManyPeers(1)));
}

#[test]
fn a_silent_browser_is_lost_by_ice_consent() {
    let mut w = connected_world();
    // The customer's browser vanishes: nothing more from it.
    let gone = w.clients.remove(&on_call(Party::Customer)).unwrap();
    drop(gone);
    w.run(40_000);
    let events: Vec<_> = std::iter::from_fn(|| w.sfu.poll_event()).collect();
    assert!(
        events.contains(&MediaEvent::Lost(PeerKey {
            call: CALL.into(),
            party: Party::Customer
        })),
        "{events:?}"
    );
}

#[test]
fn frames_reach_only_the_parties_of_their_own_call() {
    let mut w = connected_world();
    let other = "call-2";
    w.sfu.set_call(
        w.now,
        other,
        Some(call(
            false,
            vec![agent("bob", AgentRole::Primary, AgentState::Connected)],
        )),
    );
    let other_customer = PeerKey {
        call: other.into(),
        party: Party::Customer,
    };
    let bob = PeerKey {
        call: other.into(),
        party: a("bob"),
    };
    const OTHER_CUSTOMER_TAG: u8 = 4;
    w.join_on(other_customer.clone(), OTHER_CUSTOMER_TAG)
        .unwrap();
    w.join_on(bob.clone(), BOB_TAG).unwrap();
    w.run(1000);
    for c in w.clients.values_mut() {
        c.heard.clear();
    }
    w.run(1000);
    // Every frame heard, not only most: one stray frame from the other call would show.
    let heard =
        |w: &World, key: &PeerKey| -> Vec<u8> { w.clients[key].heard.keys().copied().collect() };
    assert_eq!(heard(&w, &on_call(Party::Customer)), [ANN_TAG]);
    assert_eq!(heard(&w, &on_call(a("ann"))), [CUSTOMER_TAG]);
    assert_eq!(heard(&w, &other_customer), [BOB_TAG]);
    assert_eq!(heard(&w, &bob), [OTHER_CUSTOMER_TAG]);
    assert!(
        w.clients[&bob].heard[&OTHER_CUSTOMER_TAG] >= 45,
        "{:?}",
        w.clients[&bob].heard
    );

    // The first call ends: the second goes on, its peers untouched.
    w.sfu.set_call(w.now, CALL, None);
    assert_eq!(w.sfu.peer_count(), 2);
    w.run(1000);
    assert_eq!(heard(&w, &bob), [OTHER_CUSTOMER_TAG]);
}

#[test]
fn a_datagram_from_an_address_no_ice_check_came_from_reaches_no_peer() {
    let mut w = connected_world();
    let stranger: SocketAddr = "10.0.9.9:9999".parse().unwrap();
    // An RTP-looking datagram (RFC 7983: 128–191) and a STUN-looking one no peer owns.
    let mut rtp = vec![0x80, 111, 0, 1];
    rtp.extend([0; 20]);
    w.sfu.handle_receive(w.now, stranger, server(), &rtp);
    w.sfu
        .handle_receive(w.now, stranger, server(), &[0, 1, 0, 0]);
    w.sfu.handle_receive(w.now, stranger, server(), &[]);
    assert_eq!(w.sfu.poll_transmit(), None);
    // The call goes on.
    w.run(1000);
    assert_eq!(w.take_heard(&Party::Customer), (vec![ANN_TAG], 0));
}

/// Ann keys a digit on her microphone's stream.
fn key_digit(w: &mut World, i: usize, event: u8) {
    let c = w.clients.get_mut(&on_call(a("ann"))).unwrap();
    let writer = c.rtc.writer(c.mic).unwrap();
    let pt = writer
        .payload_params()
        .find(|p| p.spec().codec == Codec::Opus)
        .unwrap()
        .pt();
    let t = MediaTime::new(100_000 + i as u64 * 20_000, Frequency::FORTY_EIGHT_KHZ);
    let now = w.now;
    writer
        .telephone_event(TelephoneEvent {
            event,
            end: true,
            volume: 10,
            duration: Duration::from_millis(100),
        })
        .write(pt, now, t, Vec::new())
        .unwrap();
    w.run(300);
}

#[test]
fn dtmf_goes_to_whoever_hears_the_sender_and_not_to_a_customer_on_hold() {
    let mut w = connected_world();
    for (i, event) in [1u8, 5, 11].into_iter().enumerate() {
        key_digit(&mut w, i, event);
    }
    let heard: Vec<Vec<Party>> = std::iter::from_fn(|| w.sfu.poll_event())
        .filter_map(|e| match e {
            MediaEvent::Dtmf { heard_by, .. } => Some(heard_by),
            _ => None,
        })
        .collect();
    assert_eq!(heard, vec![vec![Party::Customer]; 3]);
    let tones: Vec<u8> = w.clients[&on_call(Party::Customer)]
        .tones
        .iter()
        .map(|t| t.1)
        .collect();
    assert_eq!(tones, [1, 5, 11], "forwarded as RFC 4733 events, in order");

    // On hold the customer hears the hold music, not ann's keypad.
    w.set_call(call(
        true,
        vec![agent("ann", AgentRole::Primary, AgentState::Hold)],
    ));
    key_digit(&mut w, 3, 9);
    let heard: Vec<Vec<Party>> = std::iter::from_fn(|| w.sfu.poll_event())
        .filter_map(|e| match e {
            MediaEvent::Dtmf { heard_by, .. } => Some(heard_by),
            _ => None,
        })
        .collect();
    assert_eq!(heard, vec![Vec::<Party>::new()]);
    assert_eq!(w.clients[&on_call(Party::Customer)].tones.len(), 3);
}

#[test]
fn dtmf_digits_arrive_in_order() {
    let mut w = connected_world();
    for (i, event) in [1u8, 5, 11].into_iter().enumerate() {
        key_digit(&mut w, i, event);
    }
    let digits: String = std::iter::from_fn(|| w.sfu.poll_event())
        .filter_map(|e| match e {
            MediaEvent::Dtmf { peer, digit, .. } if peer.party == a("ann") => Some(digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, "15#");
}

fn recordings(w: &mut World) -> Vec<Recording> {
    std::iter::from_fn(|| w.sfu.poll_event())
        .filter_map(|e| match e {
            MediaEvent::Recorded(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn a_recorded_call_gives_one_ogg_opus_file_per_party_with_the_call_s_duration() {
    let mut w = connected_world();
    assert_eq!(
        w.sfu.set_recording_muted(CALL, true),
        Err(MediaError::NotRecording)
    );
    assert_eq!(
        w.sfu.set_recording("no-such-call", true),
        Err(MediaError::NotInCall)
    );
    w.sfu.set_recording(CALL, true).unwrap();
    w.run(2000);
    // A recording mute is a gap in the files, not a cut in their timeline.
    w.sfu.set_recording_muted(CALL, true).unwrap();
    assert_eq!(w.sfu.recording_of(CALL), Some(true));
    w.run(500);
    w.sfu.set_recording_muted(CALL, false).unwrap();
    w.run(500);
    assert!(
        recordings(&mut w).is_empty(),
        "files close when recording stops"
    );
    // The call ends: both files are closed.
    w.sfu.set_call(w.now, CALL, None);
    let mut files = recordings(&mut w);
    files.sort_by(|a, b| a.peer.party.cmp(&b.peer.party));
    let parties: Vec<Party> = files.iter().map(|r| r.peer.party.clone()).collect();
    assert_eq!(parties, vec![Party::Customer, a("ann")]);
    for (r, tag) in files.iter().zip([CUSTOMER_TAG, ANN_TAG]) {
        let packets = ogg::opus_packets(&r.ogg).expect("a valid Ogg Opus file");
        assert_eq!(packets.len() as u64, r.packets);
        // 3 s recorded less the 0.5 s muted: about 125 frames of 20 ms.
        assert!((115..=130).contains(&packets.len()), "{}", packets.len());
        assert!(
            packets.iter().all(|p| p[0] == tag),
            "only the party's own audio"
        );
        let ms = ogg::duration_ms(&r.ogg).unwrap();
        assert_eq!(ms, r.duration_ms);
        assert!((2900..=3040).contains(&ms), "about the 3 s recorded: {ms}");
    }
}

#[test]
fn recording_by_policy_stops_on_request_and_files_are_split_at_their_limit() {
    let mut w = World::new();
    let config = SfuConfig {
        candidates: vec![server()],
        max_peers: 8,
        slots: 3,
        record_calls: true,
        // About 1 s of these 4-byte frames (Ogg adds 28 bytes a page).
        max_recording_bytes: 50 * 32,
    };
    w.sfu = Sfu::new(config, HOLD_MUSIC).unwrap();
    w.set_call(call(
        false,
        vec![agent("ann", AgentRole::Primary, AgentState::Connected)],
    ));
    assert_eq!(w.sfu.recording_of(CALL), Some(false), "recorded by policy");
    w.join(Party::Customer, CUSTOMER_TAG).unwrap();
    w.join(a("ann"), ANN_TAG).unwrap();
    w.run(3500);
    w.sfu.set_recording(CALL, false).unwrap();
    assert_eq!(w.sfu.recording_of(CALL), None);
    let files = recordings(&mut w);
    let customer: Vec<&Recording> = files
        .iter()
        .filter(|r| r.peer.party == Party::Customer)
        .collect();
    assert!(
        customer.len() >= 2,
        "split at the limit: {}",
        customer.len()
    );
    for r in &files {
        assert!(r.ogg.len() <= 50 * 32 + 100, "{}", r.ogg.len());
        assert_eq!(ogg::opus_packets(&r.ogg).unwrap().len() as u64, r.packets);
    }
    // Stopped: nothing more is written.
    w.run(500);
    assert!(recordings(&mut w).is_empty());
}
