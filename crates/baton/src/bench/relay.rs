//! The relay baselines: a WebSocket relay that forwards each message from the sender's
//! socket to the receiver's, with no storage, with a group-committing log (the floor: one
//! `fsync` for every message waiting at that moment, like a database's WAL writer), or with
//! one `fsync` per message.
//!
//! Wire: each socket first sends `hello <index>`; then every frame is `<to>|<rest>` and the
//! relay forwards `<rest>` to socket `<to>`. `<rest>` is `D <key>\n<payload>` (the hand-off)
//! or `A <key>\n` (the receiver's answer to the sender).

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::chain::{Arrival, Rendezvous, Transport, within};

type Peers = Arc<Mutex<HashMap<usize, mpsc::UnboundedSender<Message>>>>;

/// What the relay does with a message before it forwards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Nothing: forward at once.
    None,
    /// Written to a preallocated log by one writer thread that takes every message waiting,
    /// writes them and calls `sync_data` once for all of them, then releases them.
    GroupCommit,
    /// Appended and `sync_data`'d on its own (on the blocking pool), then forwarded.
    PerMessage,
}

/// A message waiting for the group commit, and whom to tell when it is on disk.
type Pending = (
    String,
    tokio::sync::oneshot::Sender<std::io::Result<String>>,
);

/// How a connection makes a message durable.
#[derive(Clone)]
enum Store {
    None,
    Log(std::sync::mpsc::Sender<Pending>),
    File(Arc<std::fs::File>),
}

/// Thread name of the relays' runtime and writer, so their CPU can be told apart.
pub const RELAY_THREADS: &str = "bench-relay";

/// Starts the relay on loopback; a durable relay appends to a log in `dir`. Runs until the
/// runtime it was spawned on stops (the group-commit writer thread ends with the last
/// connection, when its channel closes).
pub async fn serve(durability: Durability, dir: &std::path::Path) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let open = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
    };
    let store = match durability {
        Durability::None => Store::None,
        Durability::PerMessage => Store::File(Arc::new(open("relay-per-message.log")?)),
        Durability::GroupCommit => {
            let file = preallocated_log(&dir.join("relay-group-commit.log"))?;
            let (tx, rx) = std::sync::mpsc::channel::<Pending>();
            std::thread::Builder::new()
                .name(RELAY_THREADS.into())
                .spawn(move || group_commit(file, rx))?;
            Store::Log(tx)
        }
    };
    let peers: Peers = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(relay_conn(stream, peers.clone(), store.clone()));
        }
    });
    Ok(addr)
}

/// Size of the group-commit log, written in place and wrapped around like a WAL segment.
const LOG_BYTES: u64 = 64 * 1024 * 1024;

/// Makes the group-commit log: [`LOG_BYTES`] of zeros, on disk and synced, so that later
/// writes overwrite allocated blocks and `sync_data` has no file size or extent to journal,
/// as a database's preallocated (or recycled) WAL segment.
fn preallocated_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)?;
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..LOG_BYTES / zeros.len() as u64 {
        file.write_all(&zeros)?;
    }
    file.sync_all()?;
    Ok(file)
}

/// The writer: waits for one message, takes every other one already waiting, writes them
/// all at the log's cursor and syncs once, then releases them in order.
fn group_commit(file: std::fs::File, rx: std::sync::mpsc::Receiver<Pending>) {
    use std::os::unix::fs::FileExt;
    let mut batch: Vec<Pending> = Vec::new();
    let mut bytes = Vec::new();
    let mut cursor = 0u64;
    while let Ok(first) = rx.recv() {
        batch.push(first);
        batch.extend(rx.try_iter());
        bytes.clear();
        for (text, _) in &batch {
            bytes.extend_from_slice(text.as_bytes());
        }
        if cursor + bytes.len() as u64 > LOG_BYTES {
            cursor = 0;
        }
        let written = file
            .write_all_at(&bytes, cursor)
            .and_then(|()| file.sync_data());
        cursor += bytes.len() as u64;
        for (text, done) in batch.drain(..) {
            let _ = done.send(match &written {
                Ok(()) => Ok(text),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

async fn relay_conn(stream: TcpStream, peers: Peers, store: Store) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let Some(Ok(Message::Text(hello))) = source.next().await else {
        return;
    };
    let Some(me) = hello
        .as_str()
        .strip_prefix("hello ")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    peers.lock().expect("peers").insert(me, tx);
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = source.next().await {
        let Message::Text(text) = msg else { continue };
        let Some((to, rest)) = text.as_str().split_once('|') else {
            continue;
        };
        let Ok(to) = to.parse::<usize>() else {
            continue;
        };
        let rest = rest.to_owned();
        let rest = match &store {
            Store::None => rest,
            Store::Log(log) => {
                let (done, stored) = tokio::sync::oneshot::channel();
                if log.send((rest, done)).is_err() {
                    return;
                }
                match stored.await {
                    Ok(Ok(rest)) => rest,
                    _ => return,
                }
            }
            Store::File(file) => {
                let file = file.clone();
                let stored = tokio::task::spawn_blocking(move || {
                    (&*file).write_all(rest.as_bytes())?;
                    file.sync_data()?;
                    Ok::<_, std::io::Error>(rest)
                })
                .await;
                match stored {
                    Ok(Ok(rest)) => rest,
                    _ => return,
                }
            }
        };
        let target = peers.lock().expect("peers").get(&to).cloned();
        if let Some(target) = target {
            let _ = target.send(Message::text(rest));
        }
    }
}

/// The relay's clients: one socket per participant.
pub struct RelayClients {
    out: Vec<mpsc::UnboundedSender<Message>>,
    arrivals: Arc<Rendezvous<Arrival>>,
    answers: Arc<Rendezvous<usize>>,
}

impl RelayClients {
    pub async fn connect(addr: SocketAddr, n: usize) -> Result<Self, String> {
        let arrivals: Arc<Rendezvous<Arrival>> = Arc::default();
        let answers: Arc<Rendezvous<usize>> = Arc::default();
        let mut out = Vec::new();
        for i in 0..n {
            let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), stream)
                .await
                .map_err(|e| format!("relay socket: {e}"))?;
            let (mut sink, mut source) = ws.split();
            sink.send(Message::text(format!("hello {i}")))
                .await
                .map_err(|e| e.to_string())?;
            let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    if sink.send(m).await.is_err() {
                        break;
                    }
                }
            });
            let (arrivals, answers) = (arrivals.clone(), answers.clone());
            tokio::spawn(async move {
                while let Some(Ok(msg)) = source.next().await {
                    let at = Instant::now();
                    let Message::Text(text) = msg else { continue };
                    receive(i, at, text.as_str(), &arrivals, &answers);
                }
            });
            out.push(tx);
        }
        // Every socket must be registered before the first hop.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(Self {
            out,
            arrivals,
            answers,
        })
    }

    fn send(&self, from: usize, frame: String) -> Result<(), String> {
        self.out[from]
            .send(Message::text(frame))
            .map_err(|_| "relay socket closed".to_owned())
    }
}

/// Sorts a received `D <key>\n<payload>` or `A <key>\n` into the right rendezvous.
pub fn receive(
    me: usize,
    at: Instant,
    text: &str,
    arrivals: &Rendezvous<Arrival>,
    answers: &Rendezvous<usize>,
) {
    let Some((head, payload)) = text.split_once('\n') else {
        return;
    };
    if let Some(key) = head.strip_prefix("D ") {
        arrivals.deliver(
            key,
            Arrival {
                at,
                participant: me,
                data: payload.to_owned(),
            },
        );
    } else if let Some(key) = head.strip_prefix("A ") {
        answers.deliver(key, me);
    }
}

impl Transport for RelayClients {
    async fn hop(
        &self,
        key: &str,
        from: usize,
        to: usize,
        payload: &str,
    ) -> Result<Duration, String> {
        let arrived = self.arrivals.expect(key);
        let answered = self.answers.expect(key);
        let sent = Instant::now();
        self.send(from, format!("{to}|D {key}\n{payload}"))?;
        let arrival = within("relayed payload", arrived).await?;
        if arrival.participant != to || arrival.data != payload {
            return Err(format!("relay delivered the wrong payload for {key}"));
        }
        self.send(to, format!("{from}|A {key}\n"))?;
        let by = within("relayed answer", answered).await?;
        if by != from {
            return Err(format!("relay delivered the answer for {key} to {by}"));
        }
        Ok(arrival.at.saturating_duration_since(sent))
    }
}

/// One `write` + `sync_data` of `bytes` at a time, sequentially: what a single durable
/// write costs on this disk.
pub fn fsync_alone(
    dir: &std::path::Path,
    bytes: usize,
    n: usize,
) -> std::io::Result<Vec<Duration>> {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let data = vec![b'x'; bytes];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        file.write_all(&data)?;
        file.sync_data()?;
        out.push(t.elapsed());
    }
    let _ = std::fs::remove_file(path);
    Ok(out)
}
