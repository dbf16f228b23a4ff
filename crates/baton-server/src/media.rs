//! The media plane's I/O: UDP sockets on the configured addresses and port, the clock, and
//! the [`Sfu`] they drive (docs/voice.md, decision 0019).
//!
//! One task owns the `Sfu`. It hears of calls from the engine after each commit (the
//! voice interactions a batch touched, as [`CallState`]s), of offers, candidates and mutes
//! from the sockets, and of datagrams from one reader task per UDP socket. A media fault
//! never reaches the engine: a bad offer is answered with an error code, a lost browser
//! becomes a customer hang-up, and if the task itself ended, voice requests answer
//! `unknown_error` while chat and call signalling go on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use baton_core::{
    AgentId, CallMediaChange, Command, Digit, Interaction, InteractionId, PartyState,
};
use baton_media::{
    AgentParty, AgentRole, AgentState, CallState, MediaError, MediaEvent, Party, PeerKey, Sfu,
    SfuConfig,
};
use baton_protocol::{ApiError, Channel, ErrorCode, PartyRole};
use baton_store::{DataCipher, cipher};
use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Clock, EngineHandle, Extra, WeakEngineHandle};
use crate::recordings::RecordingStore;

/// `[media]` in `baton.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSettings {
    /// Calls carry audio through this server. Off: voice requests answer 14.
    pub enabled: bool,
    /// The UDP port of every media socket; 0 = one the system picks (tests). Open it in
    /// the firewall.
    pub udp_port: u16,
    /// The addresses browsers are told to send media to (host candidates), one socket each.
    pub addresses: Vec<IpAddr>,
    /// Peer connections at most (each call has one per party); more → `rate_limited`.
    pub max_peers: usize,
    /// Other parties one receiver hears at once (audio m-lines a browser offers, at most).
    pub slots: usize,
    /// Largest SDP offer or candidate accepted, in bytes; larger → `payload_too_large`.
    pub max_sdp_bytes: usize,
    /// Every call is recorded from its start (agents can still stop it with
    /// `setCallRecording(false)`). Off: only calls an agent starts recording.
    pub record_calls: bool,
    /// A party's recording file is closed at this size (bytes) and a new one begun; it
    /// bounds the memory a recording holds until it is written.
    pub max_recording_bytes: usize,
    /// STUN and TURN URLs (`stun:`, `stuns:`, `turn:`, `turns:`) the pages give their
    /// `RTCPeerConnection` (`voiceConfig`); empty = host candidates only.
    pub ice_servers: Vec<String>,
    /// coturn's `static-auth-secret` (`use-auth-secret`): Baton mints each page a TURN
    /// username and credential from it (crate::ice). Required with `turn:` URLs.
    pub turn_secret: Option<crate::settings::Secret>,
    /// How long a minted TURN credential is valid (seconds, 60 to one week).
    pub turn_credential_secs: u64,
    /// When a browser raises `ON_CALL_AUDIO_QUALITY_ALERT` (`[media.quality]`).
    pub quality: QualityThresholds,
}

/// The call-quality limits a page measures its peer connection against (docs/voice.md,
/// "Call quality"); InitOptions `callQualityThresholds` can override them per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityThresholds {
    /// Received packets lost, in percent over the last few seconds.
    #[serde(rename(serialize = "maxPacketLossPercent"))]
    pub max_packet_loss_percent: u32,
    /// Inbound jitter, in milliseconds.
    #[serde(rename(serialize = "maxJitterMs"))]
    pub max_jitter_ms: u32,
    /// Round trip to the server, in milliseconds.
    #[serde(rename(serialize = "maxRoundTripMs"))]
    pub max_round_trip_ms: u32,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            max_packet_loss_percent: 5,
            max_jitter_ms: 30,
            max_round_trip_ms: 400,
        }
    }
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            udp_port: 0,
            addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            max_peers: 2000,
            slots: 4,
            max_sdp_bytes: 16 * 1024,
            record_calls: false,
            max_recording_bytes: 16 * 1024 * 1024,
            ice_servers: Vec::new(),
            turn_secret: None,
            turn_credential_secs: 3600,
            quality: QualityThresholds::default(),
        }
    }
}

/// How the sockets and the engine reach the media task.
#[derive(Clone)]
pub struct MediaHandle {
    jobs: mpsc::UnboundedSender<Job>,
    max_sdp_bytes: usize,
    /// The bound addresses (the host candidates), for tests and the startup log.
    pub candidates: Arc<Vec<SocketAddr>>,
    /// Test-only: the share (percent) of outgoing datagrams dropped, so a browser test can
    /// degrade a call for real (`BATON_TEST_FAULTS=1`, `POST /api/v1/admin/debug/media-loss`).
    test_loss_percent: Arc<std::sync::atomic::AtomicU32>,
}

impl MediaHandle {
    /// Drops `percent` (0 to 100) of the outgoing datagrams from now on, evenly spread.
    pub fn set_test_loss(&self, percent: u32) {
        self.test_loss_percent
            .store(percent.min(100), std::sync::atomic::Ordering::Relaxed);
    }
}

enum Job {
    Calls(Vec<(InteractionId, Option<CallState>)>),
    Offer {
        key: PeerKey,
        sdp: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Candidate {
        key: PeerKey,
        line: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Mute {
        key: PeerKey,
        muted: bool,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Close {
        call: Option<String>,
        party: Party,
    },
    Record {
        key: PeerKey,
        /// `setCallRecording` (`false`) or `setCallRecordingMute` (`true`).
        mute: bool,
        on: bool,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
}

/// A media error as the protocol says it.
pub fn api_error(e: MediaError) -> ApiError {
    let code = match &e {
        MediaError::NotInCall | MediaError::NoPeer | MediaError::NotRecording => {
            ErrorCode::NotSuitableState
        }
        MediaError::BadSdp(_) | MediaError::BadCandidate(_) => ErrorCode::InvalidArgs,
        MediaError::TooManyPeers(_) => ErrorCode::RateLimited,
        MediaError::NoCandidates | MediaError::BadHoldMusic(_) => ErrorCode::UnknownError,
    };
    ApiError::new(code, e.to_string())
}

fn gone() -> ApiError {
    ApiError::new(ErrorCode::UnknownError, "the media plane is not running")
}

impl MediaHandle {
    fn check_size(&self, text: &str) -> Result<(), ApiError> {
        if text.len() > self.max_sdp_bytes {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("{} bytes; the limit is {}", text.len(), self.max_sdp_bytes),
            ));
        }
        Ok(())
    }

    /// A browser's SDP offer for its party on a call; answers the server's SDP.
    pub async fn offer(&self, key: PeerKey, sdp: String) -> Result<String, ApiError> {
        self.check_size(&sdp)?;
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Offer { key, sdp, reply })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(api_error)
    }

    /// A trickled ICE candidate (`candidate:…`).
    pub async fn candidate(&self, key: PeerKey, line: String) -> Result<(), ApiError> {
        self.check_size(&line)?;
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Candidate { key, line, reply })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(api_error)
    }

    /// `setCallMute`.
    pub async fn mute(&self, key: PeerKey, muted: bool) -> Result<(), ApiError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Mute { key, muted, reply })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(api_error)
    }

    /// `setCallRecording` (`mute: false`) or `setCallRecordingMute` (`mute: true`), by a
    /// party of the call.
    pub async fn record(&self, key: PeerKey, mute: bool, on: bool) -> Result<(), ApiError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job::Record {
                key,
                mute,
                on,
                reply,
            })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?.map_err(api_error)
    }

    /// The party hung up, or its socket closed: its peer connection goes with it (`call:
    /// None`: on every call).
    pub fn close(&self, call: Option<String>, party: Party) {
        let _ = self.jobs.send(Job::Close { call, party });
    }

    /// Called by the engine after a commit: the voice calls the batch touched.
    pub fn calls(&self, calls: Vec<(InteractionId, Option<CallState>)>) {
        if !calls.is_empty() {
            let _ = self.jobs.send(Job::Calls(calls));
        }
    }
}

/// The call state of a voice interaction as the core has it, with its recording policy
/// (`Core::record_policy`); `None` when it is not a live call (completed, or not voice).
pub fn call_state(i: &Interaction, record: Option<bool>) -> Option<CallState> {
    if i.channel != Channel::Voice || i.completed_at.is_some() {
        return None;
    }
    Some(CallState {
        customer_connected: i.customer_connected && !i.internal,
        customer_on_hold: i.customer_on_hold,
        agents: i
            .parties
            .iter()
            .map(|p| AgentParty {
                agent: p.agent.to_string(),
                role: match p.role {
                    PartyRole::Primary => AgentRole::Primary,
                    PartyRole::Consult => AgentRole::Consult,
                    PartyRole::Conference => AgentRole::Conference,
                },
                state: match p.state {
                    PartyState::Ringing => AgentState::Ringing,
                    PartyState::Connected => AgentState::Connected,
                    PartyState::Hold => AgentState::Hold,
                    PartyState::WrapUp => AgentState::WrapUp,
                },
            })
            .collect(),
        muted: Default::default(),
        record,
    })
}

/// Binds the sockets and starts the media task. `calls` are the live voice calls restored
/// from the store, so a browser can (re)connect to one after a restart.
pub async fn start(
    settings: &MediaSettings,
    engine: EngineHandle,
    calls: Vec<(InteractionId, Option<CallState>)>,
    recordings: Arc<RecordingStore>,
    clock: Clock,
    cipher: Option<DataCipher>,
) -> std::io::Result<MediaHandle> {
    let mut sockets = Vec::new();
    for ip in &settings.addresses {
        let socket = UdpSocket::bind(SocketAddr::new(*ip, settings.udp_port)).await?;
        sockets.push(Arc::new(socket));
    }
    let candidates: Vec<SocketAddr> = sockets
        .iter()
        .map(|s| s.local_addr())
        .collect::<Result<_, _>>()?;
    let config = SfuConfig {
        candidates: candidates.clone(),
        max_peers: settings.max_peers,
        slots: settings.slots.max(1),
        record_calls: settings.record_calls,
        max_recording_bytes: settings.max_recording_bytes,
    };
    let sfu = Sfu::new(config, baton_media::HOLD_MUSIC)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let (jobs, rx) = mpsc::unbounded_channel();
    let _ = jobs.send(Job::Calls(calls));
    let (dgram_tx, dgram_rx) = mpsc::channel(4096);
    for socket in &sockets {
        tokio::spawn(read_socket(socket.clone(), dgram_tx.clone()));
    }
    let (commands, to_engine) = mpsc::unbounded_channel();
    tokio::spawn(report_to_engine(engine.downgrade(), to_engine));
    let shell = Shell {
        engine: engine.downgrade(),
        commands,
        recordings,
        clock,
        cipher,
    };
    let test_loss_percent = Arc::new(std::sync::atomic::AtomicU32::new(0));
    tokio::spawn(run(
        sfu,
        sockets,
        rx,
        dgram_rx,
        shell,
        test_loss_percent.clone(),
    ));
    tracing::info!(?candidates, "media plane listening (UDP)");
    Ok(MediaHandle {
        jobs,
        max_sdp_bytes: settings.max_sdp_bytes,
        candidates: Arc::new(candidates),
        test_loss_percent,
    })
}

/// Datagrams handled in one turn of the media task before its timers and sends.
const DATAGRAM_BATCH: usize = 64;

struct Datagram {
    source: SocketAddr,
    destination: SocketAddr,
    bytes: Vec<u8>,
}

async fn read_socket(socket: Arc<UdpSocket>, tx: mpsc::Sender<Datagram>) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, source)) => {
                let d = Datagram {
                    source,
                    destination: local,
                    bytes: buf[..n].to_vec(),
                };
                // Full: the media task is behind; dropping is what UDP would do.
                if tx.try_send(d).is_err() && tx.is_closed() {
                    return;
                }
            }
            // ICMP port unreachable and the like surface here on some systems; keep going.
            Err(e) => tracing::trace!(error = %e, "media socket read error"),
        }
    }
}

async fn run(
    mut sfu: Sfu,
    sockets: Vec<Arc<UdpSocket>>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    mut datagrams: mpsc::Receiver<Datagram>,
    shell: Shell,
    test_loss_percent: Arc<std::sync::atomic::AtomicU32>,
) {
    // The candidates, in socket order: a transmit leaves from the socket of its source.
    let locals: Vec<SocketAddr> = sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
    // Test-only loss: a running sum that drops one datagram each time it passes 100.
    let mut loss_sum = 0u32;
    loop {
        let wake = sfu
            .next_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + std::time::Duration::from_secs(3600));
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => handle_job(&mut sfu, job),
                None => return,
            },
            Some(d) = datagrams.recv() => {
                let now = Instant::now();
                sfu.handle_receive(now, d.source, d.destination, &d.bytes);
                // What else has arrived is taken too, a bounded batch, before the timers
                // and the sends: the channel drains as fast as the SFU can work.
                for _ in 1..DATAGRAM_BATCH {
                    let Ok(d) = datagrams.try_recv() else { break };
                    sfu.handle_receive(now, d.source, d.destination, &d.bytes);
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
        sfu.handle_timeout(Instant::now());
        while let Some(t) = sfu.poll_transmit() {
            loss_sum += test_loss_percent.load(std::sync::atomic::Ordering::Relaxed);
            if loss_sum >= 100 {
                loss_sum -= 100;
                continue;
            }
            let at = locals.iter().position(|a| *a == t.source).unwrap_or(0);
            if let Some(s) = sockets.get(at) {
                // Never wait on a full socket buffer: media late is media lost.
                let _ = s.try_send_to(&t.contents, t.destination);
            }
        }
        while let Some(event) = sfu.poll_event() {
            on_event(&shell, event);
        }
    }
}

fn handle_job(sfu: &mut Sfu, job: Job) {
    let now = Instant::now();
    match job {
        Job::Calls(calls) => {
            for (id, state) in calls {
                sfu.set_call(now, id.as_str(), state);
            }
        }
        Job::Offer { key, sdp, reply } => {
            let _ = reply.send(sfu.accept_offer(now, key, &sdp));
        }
        Job::Candidate { key, line, reply } => {
            let _ = reply.send(sfu.add_remote_candidate(&key, &line));
        }
        Job::Mute { key, muted, reply } => {
            let _ = reply.send(sfu.set_muted(now, &key.call, &key.party, muted));
        }
        Job::Close { call, party } => sfu.close_peer(call.as_deref(), &party),
        Job::Record {
            key,
            mute,
            on,
            reply,
        } => {
            let result = if !sfu.is_on_call(&key.call, &key.party) {
                Err(MediaError::NotInCall)
            } else if mute {
                sfu.set_recording_muted(&key.call, on)
            } else {
                sfu.set_recording(&key.call, on)
            };
            let _ = reply.send(result);
        }
    }
}

/// What the media task hands its results to.
struct Shell {
    /// Weak: the engine holds this task's job queue, so a strong handle here would keep
    /// both running after shutdown.
    engine: WeakEngineHandle,
    /// Changes the interaction carries (mute, recording, DTMF), to the engine in order.
    commands: mpsc::UnboundedSender<Command>,
    recordings: Arc<RecordingStore>,
    clock: Clock,
    /// Seals DTMF digits for the interaction's log.
    cipher: Option<DataCipher>,
}

/// The associated data of a sealed DTMF digit: its interaction, so a sealed digit cannot
/// be moved to another call's log.
pub fn dtmf_aad(interaction: &str) -> Vec<u8> {
    format!("dtmf:{interaction}").into_bytes()
}

/// The interaction's DTMF log as the admin reads it: each kept digit opened (a digit that
/// does not open, say under a removed key, is left out).
pub fn open_dtmf_log(
    data_cipher: Option<&DataCipher>,
    summary: &mut baton_protocol::InteractionSummary,
) {
    let aad = dtmf_aad(&summary.id);
    for record in &mut summary.dtmf {
        record.digit = record
            .digit
            .take()
            .and_then(|stored| cipher::open_stored(data_cipher, stored, &aad).ok());
    }
}

/// Hands the media plane's changes to the engine one after another, so digits keyed in a
/// row are logged and delivered in that order. A change to a call that has just ended is
/// refused by the engine and dropped. Holds the engine weakly, like the media task: once
/// the engine has stopped there is nothing to report to.
async fn report_to_engine(
    engine: WeakEngineHandle,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    while let Some(command) = commands.recv().await {
        let Some(engine) = engine.upgrade() else {
            break;
        };
        if let Err(e) = engine.call(command, Extra::default()).await {
            tracing::debug!(error = %e.message, "call media change not applied");
        }
    }
}

impl Shell {
    fn report(&self, call: String, change: CallMediaChange) {
        let _ = self.commands.send(Command::CallMedia {
            interaction: InteractionId(call),
            change,
        });
    }
}

/// A lost customer browser is the customer hanging up (docs/voice.md, faults); a lost
/// agent browser is logged: the agent's widget sees its own connection fail and the agent
/// decides (the call stays theirs).
fn on_event(shell: &Shell, event: MediaEvent) {
    let engine = &shell.engine;
    match event {
        MediaEvent::Recorded(rec) => {
            let store = shell.recordings.clone();
            let now = shell.clock.now();
            // File I/O off the media task: audio keeps flowing while a file is written.
            tokio::task::spawn_blocking(move || match store.save(&rec, now) {
                Ok(info) => tracing::info!(
                    target: "baton::ops",
                    event = "recording",
                    interaction = rec.peer.call,
                    party = %rec.peer.party,
                    duration_ms = info.duration_ms,
                    bytes = info.bytes,
                    "call recording stored"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    interaction = rec.peer.call,
                    "call recording lost: cannot write it"
                ),
            });
        }
        MediaEvent::Connected(key) => {
            tracing::info!(call = key.call, party = %key.party, "media connected");
        }
        MediaEvent::Lost(key) => {
            tracing::info!(call = key.call, party = %key.party, "media lost (ICE consent)");
            if key.party == Party::Customer
                && let Some(engine) = engine.upgrade()
            {
                tokio::spawn(async move {
                    let hangup = Command::CustomerHangup {
                        interaction: InteractionId(key.call),
                    };
                    let _ = engine.call(hangup, Extra::default()).await;
                });
            }
        }
        MediaEvent::Dtmf {
            peer,
            digit,
            heard_by,
        } => {
            // The digit itself is not logged: callers key in PINs and card numbers.
            tracing::info!(
                target: "baton::ops",
                event = "dtmf",
                interaction = peer.call,
                party = %peer.party,
                "DTMF digit received"
            );
            let stored = cipher::seal(
                shell.cipher.as_ref(),
                &digit.to_string(),
                &dtmf_aad(&peer.call),
            );
            let change = CallMediaChange::Dtmf {
                party_id: party_id(&peer.party),
                digit: Digit(digit),
                stored,
                heard_by: heard_by
                    .into_iter()
                    .filter_map(|p| match p {
                        Party::Agent(a) => Some(AgentId(a)),
                        Party::Customer => None,
                    })
                    .collect(),
            };
            shell.report(peer.call, change);
        }
        MediaEvent::Muted { peer, muted } => {
            if let Party::Agent(agent) = peer.party {
                let agent = AgentId(agent);
                shell.report(peer.call, CallMediaChange::Muted { agent, muted });
            }
        }
        MediaEvent::RecordingChanged { call, on } => {
            shell.report(call, CallMediaChange::Recording { on });
        }
    }
}

/// A party as the interaction's `parties` name it: `customer` or the agent's id.
fn party_id(party: &Party) -> String {
    match party {
        Party::Customer => "customer".to_owned(),
        Party::Agent(a) => a.clone(),
    }
}
