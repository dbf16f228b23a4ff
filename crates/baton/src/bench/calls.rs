//! `baton bench --calls N`: N two-party calls held through the media plane, each party a
//! str0m peer connection (ICE, DTLS-SRTP) sending a synthetic Opus-sized frame every
//! 20 ms, against a bare UDP forwarder carrying the same frames, interleaved in rounds
//! (decision 0017). The calls are real: a customer calls in through ingress, an agent
//! accepts, and both offer over their sockets (`voiceOffer`), as the customer page and the
//! widget do.
//!
//! Each frame carries its round, its sequence number and when it was sent, so the
//! receiving party measures the forwarding delay (from just before the sender's str0m
//! writes the frame to the datagram's arrival at the receiver's socket: both ends live in
//! this process, on one clock) and the loss (frames sent in a round that never arrived).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_media::str0m::format::Codec;
use baton_media::str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use baton_media::str0m::net::{Protocol, Receive};
use baton_media::str0m::{Candidate, Event, Input, Output, Rtc, change::SdpAnswer};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::baton::BatonAgents;
use super::chain::{self, Outcome, Summary};
use super::report::Spread;
use super::target::{self, Rest, Server, ServerOptions};
use super::{BaselineKind, BenchArgs, say, sys};

/// One Opus frame every 20 ms per party, as a browser sends.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(20);
/// A typical 20 ms Opus voice frame (about 40 kbit/s).
pub const FRAME_BYTES: usize = 100;
/// The most calls one run may hold (two peer connections, two sockets each).
pub const MAX_CALLS: usize = 5000;
/// Calls set up at once (ingress, routing, accept, two offers each).
const SETUP_PARALLEL: usize = 16;
/// How long every peer connection may take to connect, counted from the last offer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// After a round stops sending, frames still on their way are waited for this long.
const DRAIN: Duration = Duration::from_millis(500);
/// Threads of the bare forwarder, so its CPU can be told apart.
const FORWARDER_THREADS: &str = "bench-udp-fwd";
const SFU: &str = "baton sfu";
const BARE: &str = "bare udp";
/// The target of issue 15: p99 forwarding delay at most this, with no loss.
const TARGET_P99_MS: f64 = 2.0;
const TARGET_CALLS: usize = 1000;

/// What every party's task follows: the round being sent, [`SILENT`] between rounds, or
/// [`STOP`].
type Control = watch::Receiver<u32>;
const SILENT: u32 = 0;
const STOP: u32 = u32::MAX;

/// What one party counted in the current round.
#[derive(Default)]
struct Tally {
    sent: u64,
    received: u64,
    delays: Vec<Duration>,
}

type Tallies = Vec<Arc<Mutex<Tally>>>;

/// How a party's frames travel.
enum Link {
    /// A peer connection to the media plane, sending on its microphone m-line.
    WebRtc {
        /// Boxed: an `Rtc` is large and `Bare` is one address.
        rtc: Box<Rtc>,
        mic: Mid,
        /// Frames written so far, for the RTP time.
        frames: u64,
        connected: Arc<AtomicUsize>,
    },
    /// Plain datagrams to the bare forwarder.
    Bare { forwarder: SocketAddr },
}

/// One party: its socket, its link, and what it counts.
struct PartyIo {
    socket: UdpSocket,
    local: SocketAddr,
    link: Link,
    tally: Arc<Mutex<Tally>>,
    /// The clock every frame's send time is counted from.
    base: Instant,
    /// Where in the 20 ms this party sends, so the calls do not all send at once.
    phase: Duration,
}

/// The frame of `round`, number `seq`, sent at `at`: `FRAME_BYTES` bytes.
fn frame(round: u32, seq: u32, sent_nanos: u64) -> Vec<u8> {
    let mut f = Vec::with_capacity(FRAME_BYTES);
    f.extend_from_slice(&round.to_le_bytes());
    f.extend_from_slice(&seq.to_le_bytes());
    f.extend_from_slice(&sent_nanos.to_le_bytes());
    f.extend((f.len()..FRAME_BYTES).map(|i| (i as u8).wrapping_mul(31)));
    f
}

/// The round and send time of a frame, if it is one.
fn read_frame(bytes: &[u8]) -> Option<(u32, u64)> {
    if bytes.len() != FRAME_BYTES {
        return None;
    }
    let round = u32::from_le_bytes(bytes[0..4].try_into().ok()?);
    let sent = u64::from_le_bytes(bytes[8..16].try_into().ok()?);
    Some((round, sent))
}

impl PartyIo {
    fn count(&self, round: u32, bytes: &[u8], arrived: Instant) {
        let Some((r, sent)) = read_frame(bytes) else {
            return;
        };
        if r != round {
            return;
        }
        let sent = self.base + Duration::from_nanos(sent);
        let mut t = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        t.received += 1;
        t.delays.push(arrived.saturating_duration_since(sent));
    }

    /// Sends what the peer connection has to send and counts the frames it received;
    /// answers when it wants time next.
    fn flush(&mut self, round: u32) -> Option<Instant> {
        let Link::WebRtc { rtc, connected, .. } = &mut self.link else {
            return None;
        };
        let mut heard = Vec::new();
        let next = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => break Some(t),
                Ok(Output::Transmit(t)) => {
                    // Never wait on a full socket buffer: a frame late is a frame lost.
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::Connected)) => {
                    connected.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Output::Event(Event::MediaData(d))) => heard.push((d.data, d.network_time)),
                Ok(Output::Event(_)) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "bench peer connection failed");
                    break None;
                }
            }
        };
        for (data, at) in heard {
            self.count(round, &data, at);
        }
        next
    }

    fn receive(&mut self, round: u32, source: SocketAddr, bytes: &[u8], at: Instant) {
        match &mut self.link {
            Link::WebRtc { rtc, .. } => {
                let Ok(contents) = bytes.try_into() else {
                    return;
                };
                let input = Input::Receive(
                    at,
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local,
                        contents,
                    },
                );
                if rtc.accepts(&input) {
                    let _ = rtc.handle_input(input);
                }
            }
            Link::Bare { .. } => self.count(round, bytes, at),
        }
    }

    fn send(&mut self, round: u32, seq: u32) {
        let now = Instant::now();
        let bytes = frame(round, seq, now.duration_since(self.base).as_nanos() as u64);
        let sent = match &mut self.link {
            Link::WebRtc {
                rtc, mic, frames, ..
            } => {
                let Some(writer) = rtc.writer(*mic) else {
                    return;
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Opus)
                    .map(|p| p.pt())
                else {
                    return;
                };
                let at = MediaTime::new(*frames * 960, Frequency::FORTY_EIGHT_KHZ);
                *frames += 1;
                writer.write(pt, now, at, bytes).is_ok()
            }
            Link::Bare { forwarder } => self.socket.try_send_to(&bytes, *forwarder).is_ok(),
        };
        if sent {
            self.tally.lock().unwrap_or_else(|p| p.into_inner()).sent += 1;
        }
    }
}

/// Drives one party until [`STOP`]: its peer connection's timers and datagrams, and while
/// a round runs, a frame every 20 ms. A party that falls behind skips the frames it
/// missed (a real sender's clock does not wait), so the shortfall shows in `sent`.
async fn run_party(mut io: PartyIo, mut control: Control) {
    let mut buf = vec![0u8; 2048];
    let mut sending = *control.borrow_and_update();
    // The round whose frames are counted: the last one sent, until the next begins.
    let mut counting = sending;
    let mut seq = 0u32;
    let mut next_frame = Instant::now() + io.phase;
    let far = || Instant::now() + Duration::from_secs(3600);
    loop {
        let rtc_due = io.flush(counting);
        let frame_due = (sending != SILENT).then_some(next_frame);
        let wake = rtc_due
            .into_iter()
            .chain(frame_due)
            .min()
            .unwrap_or_else(far);
        tokio::select! {
            r = io.socket.recv_from(&mut buf) => {
                if let Ok((n, source)) = r {
                    io.receive(counting, source, &buf[..n], Instant::now());
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
            changed = control.changed() => {
                if changed.is_err() {
                    return;
                }
                sending = *control.borrow_and_update();
                if sending == STOP {
                    return;
                }
                if sending != SILENT {
                    counting = sending;
                    seq = 0;
                    next_frame = Instant::now() + io.phase;
                }
            }
        }
        let now = Instant::now();
        if let Link::WebRtc { rtc, .. } = &mut io.link
            && rtc_due.is_some_and(|t| t <= now)
        {
            let _ = rtc.handle_input(Input::Timeout(now));
        }
        if sending != SILENT && now >= next_frame {
            io.send(sending, seq);
            seq += 1;
            while next_frame <= now {
                next_frame += FRAME_INTERVAL;
            }
        }
    }
}

/// Where in the 20 ms party `i` of `n` sends.
fn phase(i: usize, n: usize) -> Duration {
    FRAME_INTERVAL * (i as u32) / (n.max(1) as u32)
}

async fn loopback_socket() -> Result<(UdpSocket, SocketAddr), String> {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bench UDP socket: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    Ok((socket, local))
}

/// A peer connection like a browser's: Opus, the microphone send-receive and three
/// receive-only slots; answers it with its offer.
fn browser_peer(local: SocketAddr) -> Result<(Rtc, Mid, String, PendingOffer), String> {
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    let mut change = rtc.sdp_api();
    let mic = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    for _ in 0..3 {
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    }
    let (offer, pending) = change.apply().ok_or("str0m made no offer")?;
    Ok((rtc, mic, offer.to_sdp_string(), pending))
}

type PendingOffer = baton_media::str0m::change::SdpPendingOffer;

fn accept_answer(rtc: &mut Rtc, pending: PendingOffer, reply: &Value) -> Result<(), String> {
    let sdp = reply["sdp"]
        .as_str()
        .ok_or_else(|| format!("voiceOffer answer without sdp: {reply}"))?;
    let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("server SDP: {e}"))?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| format!("server SDP: {e}"))
}

/// The customer's socket, held open for the call (its closing would close the customer's
/// peer connection): what the server sends is read and dropped.
struct CustomerSocket(JoinHandle<()>);

impl Drop for CustomerSocket {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens the customer's socket and offers on it; answers the server's reply.
async fn customer_offer(url: &str, sdp: &str) -> Result<(Value, CustomerSocket), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("customer socket: {e}"))?;
    let op = json!({"op": "voiceOffer", "args": [sdp], "id": 1}).to_string();
    ws.send(Message::text(op))
        .await
        .map_err(|e| format!("customer socket: {e}"))?;
    let result = tokio::time::timeout(chain::HOP_TIMEOUT, async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Text(t)) = msg
                && let Ok(v) = serde_json::from_str::<Value>(&t)
                && v["id"] == 1
            {
                return Some(v["result"].clone());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or("customer socket: no answer to voiceOffer")?;
    if result["status"] != "success" {
        return Err(format!("customer voiceOffer: {result}"));
    }
    let held = tokio::spawn(async move { while ws.next().await.is_some() {} });
    Ok((result["data"].clone(), CustomerSocket(held)))
}

/// The calls on the media plane: one task per party, and what keeps the calls up.
struct SfuCalls {
    tasks: Vec<JoinHandle<()>>,
    tallies: Tallies,
    _customers: Vec<CustomerSocket>,
}

/// What starts a party's task: the round control, the clock, and the count of peer
/// connections that are connected.
#[derive(Clone)]
struct Drive {
    control: Control,
    base: Instant,
    connected: Arc<AtomicUsize>,
    /// Parties in all, to spread their sending over the frame interval.
    parties: usize,
}

type Party = (JoinHandle<()>, Arc<Mutex<Tally>>);

impl Drive {
    /// Starts driving party `i`.
    fn spawn(&self, i: usize, socket: UdpSocket, local: SocketAddr, link: Link) -> Party {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let io = PartyIo {
            socket,
            local,
            link,
            tally: tally.clone(),
            base: self.base,
            phase: phase(i, self.parties),
        };
        (tokio::spawn(run_party(io, self.control.clone())), tally)
    }

    fn web_rtc(&self, rtc: Rtc, mic: Mid) -> Link {
        Link::WebRtc {
            rtc: Box::new(rtc),
            mic,
            frames: 0,
            connected: self.connected.clone(),
        }
    }
}

/// One call, set up through the server, both parties offered and driven.
struct Call {
    customer: CustomerSocket,
    /// The interaction and its customer token, to hang up at the end.
    hangup: (String, String),
    parties: [Party; 2],
}

/// Call `k`: a customer calls in, an agent accepts, and each offers on its socket; each
/// party is driven from the moment it has the server's answer, as a browser would be.
async fn set_up_call(
    agents: &BatonAgents,
    rest: &Rest,
    server_customer_ws: &str,
    tenant: &target::Tenant,
    k: usize,
    drive: &Drive,
) -> Result<Call, String> {
    let call = agents.answer(rest, tenant, "voice", k).await?;
    let (socket, local) = loopback_socket().await?;
    let (mut rtc, mic, offer, pending) = browser_peer(local)?;
    let url = format!("{server_customer_ws}{}", call.customer_token);
    let (reply, customer) = customer_offer(&url, &offer).await?;
    accept_answer(&mut rtc, pending, &reply)?;
    let customer_party = drive.spawn(2 * k, socket, local, drive.web_rtc(rtc, mic));

    let (socket, local) = loopback_socket().await?;
    let (mut rtc, mic, offer, pending) = browser_peer(local)?;
    let reply = agents
        .client(call.holder)
        .call("voiceOffer", vec![json!(call.id), json!(offer)])
        .await;
    let answered = reply
        .map_err(|e| format!("agent voiceOffer: {e}"))
        .and_then(|reply| accept_answer(&mut rtc, pending, &reply));
    if let Err(e) = answered {
        customer_party.0.abort();
        return Err(e);
    }
    let agent_party = drive.spawn(2 * k + 1, socket, local, drive.web_rtc(rtc, mic));
    Ok(Call {
        customer,
        hangup: (call.id, call.customer_token),
        parties: [customer_party, agent_party],
    })
}

impl SfuCalls {
    /// Sets up `n` calls, `SETUP_PARALLEL` at a time, and waits until every peer
    /// connection is connected.
    async fn set_up(
        server: &Server,
        rest: &Rest,
        n: usize,
        control: &Control,
        base: Instant,
        json: bool,
    ) -> Result<
        (
            SfuCalls,
            Arc<BatonAgents>,
            Vec<(String, String)>,
            CallsSetup,
        ),
        String,
    > {
        let started = Instant::now();
        let tenant = target::tenant(rest, 1024, false).await?;
        let names = [tenant.name.clone()];
        let parallel = sys::nproc() * 2;
        say(
            json,
            format!(
                "calls: creating and logging in {n} agents (one argon2 hash and one verification each)"
            ),
        );
        let (usernames, created) =
            target::create_agents(rest, &names, "caller", n, parallel).await?;
        let (tokens, logged_in) = target::login_all(rest, &names, &usernames, parallel).await?;
        let agents = Arc::new(BatonAgents::connect(&[server.ws_url()], usernames, tokens).await?);
        say(json, format!("calls: setting up {n} calls"));
        let calls_started = Instant::now();
        let customer_ws = server.customer_ws_url("");
        let tenant = Arc::new(tenant);
        let drive = Drive {
            control: control.clone(),
            base,
            connected: Arc::new(AtomicUsize::new(0)),
            parties: 2 * n,
        };
        let bar = super::progress(json, "calls", n as u64);
        let set_up = target::parallel(n, SETUP_PARALLEL, |k| {
            let (agents, rest, tenant) = (agents.clone(), rest.clone(), tenant.clone());
            let (customer_ws, bar, drive) = (customer_ws.clone(), bar.clone(), drive.clone());
            async move {
                let call = set_up_call(&agents, &rest, &customer_ws, &tenant, k, &drive).await?;
                bar.inc(1);
                Ok(call)
            }
        })
        .await;
        bar.finish_and_clear();
        agents.stop_routing();
        // A failed call leaves the parties of the others running; they end with `control`.
        let calls = set_up?;
        let connected = drive.connected;
        let mut tasks = Vec::with_capacity(2 * n);
        let mut tallies = Vec::with_capacity(2 * n);
        let mut customers = Vec::with_capacity(n);
        let mut hangups = Vec::with_capacity(n);
        for call in calls {
            customers.push(call.customer);
            hangups.push(call.hangup);
            for (task, tally) in call.parties {
                tasks.push(task);
                tallies.push(tally);
            }
        }
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while connected.load(Ordering::Relaxed) < 2 * n {
            if Instant::now() >= deadline {
                for t in &tasks {
                    t.abort();
                }
                return Err(format!(
                    "calls: only {} of {} peer connections connected within {CONNECT_TIMEOUT:?}",
                    connected.load(Ordering::Relaxed),
                    2 * n
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let setup = CallsSetup {
            create_agents_secs: created.as_secs_f64(),
            logins_secs: logged_in.as_secs_f64(),
            calls_secs: calls_started.elapsed().as_secs_f64(),
            total_secs: started.elapsed().as_secs_f64(),
        };
        Ok((
            SfuCalls {
                tasks,
                tallies,
                _customers: customers,
            },
            agents,
            hangups,
            setup,
        ))
    }
}

/// The bare forwarder: one UDP socket, one task, each datagram sent on to the partner of
/// its source. What forwarding costs with no ICE, no DTLS, no SRTP, no RTP.
async fn forward(socket: UdpSocket, partners: HashMap<SocketAddr, SocketAddr>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, source)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(to) = partners.get(&source) {
            let _ = socket.try_send_to(&buf[..n], *to);
        }
    }
}

/// The baseline's parties and forwarder.
struct BareCalls {
    tasks: Vec<JoinHandle<()>>,
    tallies: Tallies,
    runtime: tokio::runtime::Runtime,
}

impl BareCalls {
    async fn set_up(n: usize, control: &Control, base: Instant) -> Result<BareCalls, String> {
        let runtime = target::named_runtime(FORWARDER_THREADS).map_err(|e| e.to_string())?;
        let mut sockets = Vec::with_capacity(2 * n);
        for _ in 0..2 * n {
            sockets.push(loopback_socket().await?);
        }
        let mut partners = HashMap::with_capacity(2 * n);
        for pair in sockets.chunks(2) {
            partners.insert(pair[0].1, pair[1].1);
            partners.insert(pair[1].1, pair[0].1);
        }
        let forwarder = runtime
            .spawn(async move {
                let socket = UdpSocket::bind("127.0.0.1:0").await?;
                let addr = socket.local_addr()?;
                tokio::spawn(forward(socket, partners));
                Ok::<_, std::io::Error>(addr)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("bare forwarder: {e}"))?;
        let drive = Drive {
            control: control.clone(),
            base,
            connected: Arc::new(AtomicUsize::new(0)),
            parties: 2 * n,
        };
        let (tasks, tallies) = sockets
            .into_iter()
            .enumerate()
            .map(|(i, (socket, local))| drive.spawn(i, socket, local, Link::Bare { forwarder }))
            .unzip();
        Ok(BareCalls {
            tasks,
            tallies,
            runtime,
        })
    }
}

/// How long setting up the calls took.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CallsSetup {
    pub create_agents_secs: f64,
    pub logins_secs: f64,
    /// Ingress, routing, accept and both offers of every call.
    pub calls_secs: f64,
    /// Everything, until every peer connection was connected.
    pub total_secs: f64,
}

/// One system's figures in one round.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CallRun {
    pub round: u32,
    pub system: String,
    /// Frames the parties sent in the round (short of the offered rate when this process,
    /// the load generator, could not keep up).
    pub sent: u64,
    pub sent_per_sec: f64,
    /// Frames that reached the other party.
    pub forwarded: u64,
    pub lost: u64,
    pub loss_percent: f64,
    /// Frames forwarded per second of the round.
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU of the server process (the forwarder's threads for the baseline) in the round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_secs: Option<f64>,
    /// That CPU per call, as a percentage of one core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_percent_per_call: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_micros_per_frame: Option<f64>,
}

impl CallRun {
    fn line(&self) -> String {
        format!(
            "round {} {:>9}: {:>7.0} frames/s sent, {:>7.0} forwarded, p50 {:.3} ms, p99 {:.3} ms, max {:.1} ms, loss {:.3}% ({} of {}){}",
            self.round,
            self.system,
            self.sent_per_sec,
            self.per_sec,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.loss_percent,
            self.lost,
            self.sent,
            self.cpu_percent_per_call
                .map(|c| format!(", CPU {c:.3}% of a core per call"))
                .unwrap_or_default()
        )
    }
}

/// One system over the rounds: medians and ranges.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSystem {
    pub system: String,
    pub sent_per_sec: Option<Spread>,
    pub per_sec: Option<Spread>,
    pub p50_ms: Option<Spread>,
    pub p99_ms: Option<Spread>,
    pub loss_percent: Option<Spread>,
    pub cpu_percent_per_call: Option<Spread>,
    pub cpu_micros_per_frame: Option<Spread>,
}

/// The SFU over the bare forwarder, taken inside each round.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRatio {
    pub p50: Option<Spread>,
    pub p99: Option<Spread>,
    pub cpu_per_frame: Option<Spread>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallsReport {
    pub calls: usize,
    pub frame_bytes: usize,
    pub frame_interval_ms: u64,
    /// Frames all parties together should send per second.
    pub offered_per_sec: f64,
    pub rounds: u32,
    pub duration_secs: f64,
    pub cpus: usize,
    pub server: String,
    pub setup: CallsSetup,
    pub runs: Vec<CallRun>,
    pub systems: Vec<CallSystem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<CallRatio>,
    /// Issue 15's target: 1,000 calls, p99 ≤ 2 ms, no loss (`None` with fewer calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_met: Option<bool>,
}

impl CallsReport {
    fn system(&self, name: &str) -> Option<CallSystem> {
        let runs: Vec<&CallRun> = self.runs.iter().filter(|r| r.system == name).collect();
        if runs.is_empty() {
            return None;
        }
        let spread = |f: fn(&CallRun) -> Option<f64>| Spread::of(runs.iter().filter_map(|r| f(r)));
        Some(CallSystem {
            system: name.to_owned(),
            sent_per_sec: spread(|r| Some(r.sent_per_sec)),
            per_sec: spread(|r| Some(r.per_sec)),
            p50_ms: spread(|r| Some(r.p50_ms)),
            p99_ms: spread(|r| Some(r.p99_ms)),
            loss_percent: spread(|r| Some(r.loss_percent)),
            cpu_percent_per_call: spread(|r| r.cpu_percent_per_call),
            cpu_micros_per_frame: spread(|r| r.cpu_micros_per_frame),
        })
    }

    fn summarise(&mut self) {
        self.systems = [SFU, BARE]
            .into_iter()
            .filter_map(|s| self.system(s))
            .collect();
        let pairs: Vec<(&CallRun, &CallRun)> = self
            .runs
            .iter()
            .filter(|r| r.system == SFU)
            .filter_map(|s| {
                let b = self
                    .runs
                    .iter()
                    .find(|b| b.system == BARE && b.round == s.round)?;
                Some((s, b))
            })
            .collect();
        if !pairs.is_empty() {
            let ratio = |f: fn(&CallRun) -> Option<f64>| {
                Spread::of(pairs.iter().filter_map(|(s, b)| Some(f(s)? / f(b)?)))
            };
            self.ratio = Some(CallRatio {
                p50: ratio(|r| Some(r.p50_ms)),
                p99: ratio(|r| Some(r.p99_ms)),
                cpu_per_frame: ratio(|r| r.cpu_micros_per_frame),
            });
        }
        if self.calls >= TARGET_CALLS
            && let Some(sfu) = self.systems.iter().find(|s| s.system == SFU)
        {
            let p99 = sfu.p99_ms.map(|s| s.max);
            let lost: u64 = self
                .runs
                .iter()
                .filter(|r| r.system == SFU)
                .map(|r| r.lost)
                .sum();
            self.target_met = Some(p99.is_some_and(|p| p <= TARGET_P99_MS) && lost == 0);
        }
    }

    fn print(&self) {
        println!(
            "\n{} two-party calls, {} B frames every {} ms per party ({:.0} frames/s offered), {} rounds of {:.1} s, {} CPUs, server {}",
            self.calls,
            self.frame_bytes,
            self.frame_interval_ms,
            self.offered_per_sec,
            self.rounds,
            self.duration_secs,
            self.cpus,
            self.server
        );
        println!(
            "setup: {} agents created in {:.1} s, logged in in {:.1} s; calls set up in {:.1} s; all connected after {:.1} s\n",
            self.calls,
            self.setup.create_agents_secs,
            self.setup.logins_secs,
            self.setup.calls_secs,
            self.setup.total_secs
        );
        let show = |s: &Option<Spread>, d: usize| s.map_or("n/a".into(), |s| s.show(d));
        println!(
            "| system | frames/s sent | frames/s forwarded | p50 ms | p99 ms | loss % | CPU % of a core per call | CPU µs per frame |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for s in &self.systems {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                s.system,
                show(&s.sent_per_sec, 0),
                show(&s.per_sec, 0),
                show(&s.p50_ms, 3),
                show(&s.p99_ms, 3),
                show(&s.loss_percent, 3),
                show(&s.cpu_percent_per_call, 3),
                show(&s.cpu_micros_per_frame, 1)
            );
        }
        if let Some(r) = &self.ratio {
            println!(
                "\nsfu / bare udp (same round): p50 {}×, p99 {}×, CPU per frame {}×",
                show(&r.p50, 2),
                show(&r.p99, 2),
                show(&r.cpu_per_frame, 1)
            );
        }
        match self.target_met {
            Some(met) => println!(
                "\ntarget ({TARGET_CALLS} calls, p99 ≤ {TARGET_P99_MS} ms in every round, no loss): {}",
                if met { "met" } else { "MISSED" }
            ),
            None => println!(
                "\ntarget ({TARGET_CALLS} calls, p99 ≤ {TARGET_P99_MS} ms, no loss): not judged with {} calls",
                self.calls
            ),
        }
    }
}

/// Takes every party's tally of the round and resets it.
fn collect(tallies: &Tallies) -> (u64, Outcome) {
    let mut sent = 0;
    let mut out = Outcome::default();
    for t in tallies {
        let t = std::mem::take(&mut *t.lock().unwrap_or_else(|p| p.into_inner()));
        sent += t.sent;
        out.latencies.extend(t.delays);
    }
    (sent, out)
}

/// One round of one system: every party sends for `duration`, then the frames still on
/// their way are waited for.
async fn round(
    system: &str,
    round: u32,
    n: usize,
    duration: Duration,
    control: &watch::Sender<u32>,
    tallies: &Tallies,
    cpu: impl Fn() -> Option<Duration>,
) -> CallRun {
    collect(tallies);
    let before = cpu();
    control.send_replace(round);
    tokio::time::sleep(duration).await;
    control.send_replace(SILENT);
    let after = cpu();
    tokio::time::sleep(DRAIN).await;
    let (sent, mut outcome) = collect(tallies);
    outcome.elapsed = duration;
    let summary = Summary::of(outcome);
    let forwarded = summary.handoffs;
    let lost = sent.saturating_sub(forwarded);
    let cpu_secs = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b).as_secs_f64());
    CallRun {
        round,
        system: system.to_owned(),
        sent,
        sent_per_sec: sent as f64 / duration.as_secs_f64(),
        forwarded,
        lost,
        loss_percent: 100.0 * lost as f64 / sent.max(1) as f64,
        per_sec: summary.per_sec,
        p50_ms: summary.p50_ms,
        p90_ms: summary.p90_ms,
        p99_ms: summary.p99_ms,
        max_ms: summary.max_ms,
        cpu_secs,
        cpu_percent_per_call: cpu_secs.map(|c| 100.0 * c / duration.as_secs_f64() / n as f64),
        cpu_micros_per_frame: cpu_secs.map(|c| c * 1e6 / forwarded.max(1) as f64),
    }
}

/// `baton bench --calls N`.
pub async fn run(args: &BenchArgs, n: usize) -> Result<(), String> {
    if n == 0 || n > MAX_CALLS {
        return Err(format!("--calls must be 1..={MAX_CALLS}"));
    }
    let nofile = sys::raise_nofile();
    // Per call: four UDP sockets here, two agent and customer sockets (both ends when the
    // server is in this process).
    let fds_needed = n * if args.spawn { 6 } else { 8 } + 512;
    if fds_needed as u64 > nofile {
        return Err(format!(
            "--calls {n} needs about {fds_needed} open files here, but the limit is {nofile}; raise `ulimit -n`"
        ));
    }
    let json = args.json;
    let data_parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    let options = ServerOptions {
        limits: target::limits(1024, 2 * n),
        data_key: None,
        fixed_mmap: false,
        cluster: None,
        media_peers: 2 * n + 16,
    };
    let server = if args.spawn {
        Server::child(&data_parent, &options).await?
    } else {
        Server::in_process(&data_parent, &options).await?
    };
    let rest = Rest::new(&server);
    let outcome = measure(args, n, &server, &rest).await;
    server.stop().await;
    let report = outcome?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        report.print();
    }
    Ok(())
}

async fn measure(
    args: &BenchArgs,
    n: usize,
    server: &Server,
    rest: &Rest,
) -> Result<CallsReport, String> {
    let json = args.json;
    rest.wait_ready().await?;
    let base = Instant::now();
    let (control, watching) = watch::channel(SILENT);
    let (sfu, agents, customers, setup) =
        SfuCalls::set_up(server, rest, n, &watching, base, json).await?;
    let bare = match args.baselines.as_deref() {
        Some(kinds) if kinds.contains(&BaselineKind::None) => None,
        _ => Some(BareCalls::set_up(n, &watching, base).await?),
    };
    let server_cpu = || server.usage().map(|u| u.cpu);
    let forwarder_cpu = || Some(sys::threads_named(FORWARDER_THREADS).cpu);
    let mut runs = Vec::new();
    for r in 1..=args.rounds {
        let run = round(SFU, r, n, args.duration, &control, &sfu.tallies, server_cpu).await;
        say(json, run.line());
        runs.push(run);
        if let Some(bare) = &bare {
            let run = round(
                BARE,
                r,
                n,
                args.duration,
                &control,
                &bare.tallies,
                forwarder_cpu,
            )
            .await;
            say(json, run.line());
            runs.push(run);
        }
    }
    control.send_replace(STOP);
    for t in sfu
        .tasks
        .iter()
        .chain(bare.iter().flat_map(|b| b.tasks.iter()))
    {
        t.abort();
    }
    if let Some(bare) = bare {
        bare.runtime.shutdown_background();
    }
    agents.finish(rest, &customers).await;
    agents.close();
    let mut report = CallsReport {
        calls: n,
        frame_bytes: FRAME_BYTES,
        frame_interval_ms: FRAME_INTERVAL.as_millis() as u64,
        offered_per_sec: 2.0 * n as f64 / FRAME_INTERVAL.as_secs_f64(),
        rounds: args.rounds,
        duration_secs: args.duration.as_secs_f64(),
        cpus: sys::nproc(),
        server: server.describe().to_owned(),
        setup,
        runs,
        systems: Vec::new(),
        ratio: None,
        target_met: None,
    };
    report.summarise();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_carries_its_round_and_send_time_at_opus_size() {
        let f = frame(7, 42, 123_456_789);
        assert_eq!(f.len(), FRAME_BYTES);
        assert_eq!(read_frame(&f), Some((7, 123_456_789)));
        assert_eq!(read_frame(&f[..50]), None);
    }

    #[test]
    fn parties_are_spread_over_the_frame_interval() {
        assert_eq!(phase(0, 4), Duration::ZERO);
        assert_eq!(phase(2, 4), Duration::from_millis(10));
        assert!(phase(3999, 4000) < FRAME_INTERVAL);
    }
}
