//! Call recording on the real server (docs/voice.md, "Recording"): two str0m clients play
//! the browsers of a connected call over real UDP; `setCallRecording` on the agent socket
//! records each party to an Ogg Opus file, sealed at rest with a data key, listed on the
//! interaction and served to the call's agent and the admin only.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use baton_media::str0m::change::{SdpAnswer, SdpPendingOffer};
use baton_media::str0m::format::{Codec, CodecExtra, FormatParams};
use baton_media::str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, TelephoneEvent};
use baton_media::str0m::net::{Protocol, Receive};
use baton_media::str0m::{Candidate, Event, Input, Output, Rtc};
use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) const KEY: &str = "k1:4242424242424242424242424242424242424242424242424242424242424242";

/// A browser's peer connection on a real UDP socket, its microphone sending the hold
/// music's packets every 20 ms once connected; it offers `telephone-event/48000` as
/// browsers do, and can key DTMF digits.
pub(crate) struct Browser {
    rtc: Rtc,
    socket: UdpSocket,
    addr: SocketAddr,
    mic: Mid,
    pub(crate) connected: bool,
    sent: u64,
    pending: Option<SdpPendingOffer>,
    /// RFC 4733 events received, each once at its end: (RTP time, event code).
    pub(crate) tones: Vec<(u64, u8)>,
}

impl Browser {
    pub(crate) fn new() -> (Self, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let mut config = Rtc::builder().clear_codecs().enable_opus(true, false);
        config.codec_config().add_config(
            101.into(),
            None,
            Codec::Tele,
            Frequency::FORTY_EIGHT_KHZ,
            None,
            FormatParams::parse_line("0-16"),
        );
        let mut rtc = config.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mic = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let browser = Self {
            rtc,
            socket,
            addr,
            mic,
            connected: false,
            sent: 0,
            pending: Some(pending),
            tones: Vec::new(),
        };
        (browser, offer.to_sdp_string())
    }

    pub(crate) fn answered(&mut self, sdp: &str) {
        let pending = self.pending.take().unwrap();
        self.rtc
            .sdp_api()
            .accept_answer(pending, SdpAnswer::from_sdp_string(sdp).unwrap())
            .unwrap();
    }

    /// One turn: a frame if due, the datagrams in and out, the timers.
    fn step(&mut self, now: Instant, frame_due: bool, music: &[Vec<u8>]) {
        if frame_due && self.connected {
            let w = self.rtc.writer(self.mic).unwrap();
            let pt = w
                .payload_params()
                .find(|p| p.spec().codec == Codec::Opus)
                .unwrap()
                .pt();
            let t = MediaTime::new(self.sent * 960, Frequency::FORTY_EIGHT_KHZ);
            let packet = music[self.sent as usize % music.len()].clone();
            w.write(pt, now, t, packet).unwrap();
            self.sent += 1;
        }
        let mut buf = [0u8; 2048];
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.addr,
                    contents: buf[..n].try_into().unwrap(),
                },
            );
            let _ = self.rtc.handle_input(input);
        }
        let _ = self.rtc.handle_input(Input::Timeout(now));
        while let Ok(out) = self.rtc.poll_output() {
            match out {
                Output::Timeout(_) => break,
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(d)) => {
                    if let CodecExtra::Tele(e) = d.codec_extra
                        && e.end
                        && !self.tones.contains(&(d.time.numer(), e.event))
                    {
                        self.tones.push((d.time.numer(), e.event));
                    }
                }
                Output::Event(_) => {}
            }
        }
    }
}

impl Browser {
    /// Keys one digit (RFC 4733 event code: 0-9, 10 `*`, 11 `#`) as a browser's
    /// `RTCDTMFSender` does: 100 ms of tone on the microphone's stream.
    pub(crate) fn key(&mut self, event: u8) {
        let w = self.rtc.writer(self.mic).unwrap();
        let pt = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .unwrap()
            .pt();
        let t = MediaTime::new(self.sent * 960, Frequency::FORTY_EIGHT_KHZ);
        let tone = TelephoneEvent {
            event,
            end: true,
            volume: 10,
            duration: Duration::from_millis(100),
        };
        w.telephone_event(tone)
            .write(pt, Instant::now(), t, Vec::new())
            .unwrap();
    }
}

/// Runs the browsers for `ms` of real time, each speaking every 20 ms once connected.
pub(crate) async fn talk(browsers: &mut [&mut Browser], ms: u64) {
    let music = baton_media::ogg::opus_packets(baton_media::HOLD_MUSIC).unwrap();
    let end = Instant::now() + Duration::from_millis(ms);
    let mut next_frame = Instant::now();
    while Instant::now() < end {
        let now = Instant::now();
        let due = now >= next_frame;
        if due {
            next_frame += Duration::from_millis(20);
        }
        for b in browsers.iter_mut() {
            b.step(now, due, &music);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn fetch(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_recorded_call_gives_each_party_a_sealed_file_of_the_call_s_length_for_its_agent_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.data_cipher = Some(baton_store::DataCipher::parse(KEY).unwrap());
    let app = spawn_with(dir, s).await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let bob = app.agent("acme", "bob", None).await;
    alice.ready().await;
    let (id, customer) = app.customer(&t, "voice", "Sales", "Carol").await;
    alice.expect("ON_NEW_INTERACTION").await;
    alice.client.accept_interaction(Some(&id)).await.unwrap();

    // Not recorded by default: a recording mute has nothing to pause.
    let r = alice
        .client
        .call("setCallRecordingMute", vec![json!(true), json!(id)])
        .await;
    assert_eq!(r.unwrap_err().api().map(|e| e.code), Some(15));

    let (mut agent_browser, mut customer_browser, _customer_socket) =
        connect_call_audio(&app, &alice, &id, &customer).await;

    // Only a party may turn it on.
    let r = bob
        .client
        .call("setCallRecording", vec![json!(true), json!(id)])
        .await;
    assert_eq!(r.unwrap_err().api().map(|e| e.code), Some(15));
    alice
        .client
        .call("setCallRecording", vec![json!(true), json!(id)])
        .await
        .unwrap();
    talk(&mut [&mut agent_browser, &mut customer_browser], 2000).await;
    alice
        .client
        .call("setCallRecording", vec![json!(false), json!(id)])
        .await
        .unwrap();

    // The files are written off the media task: wait for both.
    let list_path = format!("/api/v1/interactions/{id}/recordings");
    let mut list = Value::Null;
    for _ in 0..100 {
        let (status, body) = app.get(&list_path, Some(&alice.token)).await;
        assert_eq!(status, 200, "{body}");
        if body.as_array().unwrap().len() == 2 {
            list = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let files = list.as_array().expect("two recordings");
    let mut parties: Vec<&str> = files.iter().map(|f| f["party"].as_str().unwrap()).collect();
    parties.sort();
    assert_eq!(parties, ["agent", "customer"]);
    for f in files {
        let ms = f["durationMs"].as_u64().unwrap();
        assert!((1700..=2300).contains(&ms), "about the 2 s recorded: {f}");
        let url = f["recordingUrl"].as_str().unwrap();
        let (status, ogg) = fetch(&app, url, Some(&alice.token)).await;
        assert_eq!(status, 200);
        assert_eq!(ogg.len() as u64, f["bytes"].as_u64().unwrap());
        let packets = baton_media::ogg::opus_packets(&ogg).expect("a valid Ogg Opus file");
        assert!(
            (80..=115).contains(&packets.len()),
            "about 100 frames of 20 ms: {}",
            packets.len()
        );
        assert_eq!(baton_media::ogg::duration_ms(&ogg), Some(ms));
        // The admin may; bob (not a party), no token and a bad token may not.
        assert_eq!(fetch(&app, url, Some(ADMIN)).await.0, 200);
        assert_eq!(fetch(&app, url, Some(&bob.token)).await.0, 403);
        assert_eq!(fetch(&app, url, None).await.0, 401);
        assert_eq!(fetch(&app, url, Some("nope")).await.0, 401);
    }
    assert_eq!(app.get(&list_path, Some(&bob.token)).await.0, 403);
    assert_eq!(app.get(&list_path, None).await.0, 401);
    let (status, _) = fetch(
        &app,
        &format!("{list_path}/..%2F..%2Fserver.key"),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 404);

    // At rest the files are sealed: no Ogg page on disk.
    let folder = app.data_dir.path().join("recordings").join(&id);
    let on_disk: Vec<Vec<u8>> = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ogg"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    assert_eq!(on_disk.len(), 2);
    assert!(on_disk.iter().all(|b| !b.windows(4).any(|w| w == b"OggS")));
}

#[tokio::test]
async fn without_media_recording_ops_answer_14() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.media.enabled = false;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    for op in ["setCallRecording", "setCallRecordingMute"] {
        let r = alice
            .client
            .call(op, vec![json!(true), json!("int-x")])
            .await;
        assert_eq!(r.unwrap_err().api().map(|e| e.code), Some(14), "{op}");
    }
}

/// Waits until the interaction lists `n` recordings (files are written off the media task).
pub(crate) async fn wait_for_recordings(app: &TestApp, id: &str, n: usize) -> Vec<Value> {
    let path = format!("/api/v1/interactions/{id}/recordings");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = app.get(&path, Some(ADMIN)).await;
        assert_eq!(status, 200, "{body}");
        let list = body.as_array().unwrap().clone();
        if list.len() == n {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} recordings, waiting for {n}",
            list.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn record_calls_records_every_call_until_hang_up_and_retention_removes_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.media.record_calls = true;
    s.purge_interval_secs = 1;
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, customer) = app.customer(&t, "voice", "Sales", "Carol").await;
    alice.expect("ON_NEW_INTERACTION").await;
    alice.client.accept_interaction(Some(&id)).await.unwrap();
    let (mut agent_browser, mut customer_browser, _customer_socket) =
        offer_call_audio(&app, &alice, &id, &customer).await;
    let started = Instant::now();
    talk(&mut [&mut agent_browser, &mut customer_browser], 1500).await;
    assert!(agent_browser.connected && customer_browser.connected);

    // The customer hangs up: both files close (the call has ended for both).
    let (s, _) = app
        .post(
            &format!("/api/v1/interactions/{id}/hangup"),
            Some(&customer),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let talked = started.elapsed().as_millis() as u64;
    let files = wait_for_recordings(&app, &id, 2).await;
    for f in &files {
        let ms = f["durationMs"].as_u64().unwrap();
        // Recorded from the first packet (after ICE and DTLS) to the hang-up.
        assert!(ms >= 500 && ms <= talked + 100, "{ms} ms of {talked}: {f}");
        let (status, ogg) = fetch(&app, f["recordingUrl"].as_str().unwrap(), Some(ADMIN)).await;
        assert_eq!(status, 200);
        // No data key: the file on disk is the Ogg file itself.
        assert_eq!(&ogg[..4], b"OggS");
        assert_eq!(baton_media::ogg::duration_ms(&ogg), Some(ms));
    }

    // Retention: with the tenant's retention at 0 the next purge removes them.
    app.settings("acme", json!({"retentionSecs": 0})).await;
    wait_for_recordings(&app, &id, 0).await;
    let folder = app.data_dir.path().join("recordings").join(&id);
    assert!(!folder.exists(), "the interaction's folder goes too");
}

/// Both parties of an answered call offer audio, and talk until ICE and DTLS are up on
/// both: the agent's browser, the customer's, and the customer's socket (the customer's
/// audio lasts as long as it is open).
pub(crate) async fn connect_call_audio(
    app: &TestApp,
    alice: &Agent,
    id: &str,
    customer: &str,
) -> (Browser, Browser, CustomerSocket) {
    let (mut agent_browser, mut customer_browser, socket) =
        offer_call_audio(app, alice, id, customer).await;
    for _ in 0..50 {
        talk(&mut [&mut agent_browser, &mut customer_browser], 100).await;
        if agent_browser.connected && customer_browser.connected {
            break;
        }
    }
    assert!(agent_browser.connected, "agent's browser: ICE and DTLS up");
    assert!(
        customer_browser.connected,
        "customer's browser: ICE and DTLS up"
    );
    (agent_browser, customer_browser, socket)
}

/// Both parties of an answered call offer audio and take the server's answers; nothing is
/// sent yet, so a test can time the call from its first packet.
async fn offer_call_audio(
    app: &TestApp,
    alice: &Agent,
    id: &str,
    customer: &str,
) -> (Browser, Browser, CustomerSocket) {
    let (mut agent_browser, offer) = Browser::new();
    let answer = alice
        .client
        .call("voiceOffer", vec![json!(id), json!(offer)])
        .await
        .unwrap();
    agent_browser.answered(answer["sdp"].as_str().unwrap());
    let (mut customer_browser, offer) = Browser::new();
    let (r, socket) = customer_op(app, customer, "voiceOffer", json!([offer])).await;
    customer_browser.answered(r["data"]["sdp"].as_str().unwrap());
    (agent_browser, customer_browser, socket)
}
