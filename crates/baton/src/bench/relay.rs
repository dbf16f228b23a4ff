//! Baselines 1 and 2: a bare WebSocket relay that forwards each message from the sender's
//! socket to the receiver's, without storage or with one `fsync` per message.
//!
//! Wire: each socket first sends `hello <index>`; then every frame is `<to>|<rest>` and the
//! relay forwards `<rest>` to socket `<to>`. `<rest>` is `D <key>\n<payload>` (the hand-off)
//! or `A <key>\n` (the receiver's answer to the sender).

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::chain::{Arrival, Rendezvous, Transport, within};

type Peers = Arc<Mutex<HashMap<usize, mpsc::UnboundedSender<Message>>>>;

/// Starts the relay on loopback; `durable` names the file each message is appended to and
/// `sync_data`'d before it is forwarded. Runs until the runtime it was spawned on stops.
pub async fn serve(durable: Option<PathBuf>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let file = match durable {
        Some(path) => Some(Arc::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        )),
        None => None,
    };
    let peers: Peers = Arc::default();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(relay_conn(stream, peers.clone(), file.clone()));
        }
    });
    Ok(addr)
}

async fn relay_conn(stream: TcpStream, peers: Peers, file: Option<Arc<std::fs::File>>) {
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
        let rest = match &file {
            None => rest,
            Some(file) => {
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
